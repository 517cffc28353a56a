"""The loss landscape in weight space: symmetries and straight lines between models. Notebook 06.

The ELBO's terms are convex in what the networks output (the KL in mu and log-variance, the
Bernoulli negative log-likelihood in the logits); the loss is non-convex in the *weights*. These
helpers measure that: copies of a model related by a symmetry, and the loss along a straight line
between two models. The ELBO itself comes from ``elbo.elbo_terms`` with a fixed noise eps.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .elbo import elbo_terms


def interpolate_parameters(model_a: nn.Module, model_b: nn.Module, t: float) -> nn.Module:
    """A copy of model_a whose weights are (1 - t) * weights_a + t * weights_b.

    Introduced in notebook 06. t = 0 gives model_a, t = 1 model_b, and t in between the straight
    line between them in weight space (Goodfellow, Vinyals & Saxe 2015).
    """
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    if state_a.keys() != state_b.keys():
        raise ValueError("the two models must have the same architecture")
    mixed = {
        name: torch.lerp(value, state_b[name], t) if value.is_floating_point() else value
        for name, value in state_a.items()
    }
    model = copy.deepcopy(model_a)
    model.load_state_dict(mixed)
    return model


@torch.no_grad()
def loss_along_line(
    model_a: nn.Module, model_b: nn.Module, x: torch.Tensor, ts: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """Negative ELBO (nats per image, mean over x) at each point of the line from a to b.

    Introduced in notebook 06, with the same noise eps at every point.

    :param ts: (points,), 0 is model_a and 1 is model_b. :param eps: (samples, batch, latent_dim).
    :return: (points,).
    """
    losses = []
    for t in ts:
        model = interpolate_parameters(model_a, model_b, float(t))
        losses.append(-elbo_terms(model, x, eps=eps)["elbo"].mean())
    return torch.stack(losses)


def _linear_layers(model: nn.Module) -> tuple[nn.Linear, nn.Linear, nn.Linear, nn.Linear]:
    """The hidden layers of a VAE with one hidden layer on each side (MLP encoder)."""
    encoder_hidden = [m for m in model.encoder.body.modules() if isinstance(m, nn.Linear)]
    decoder_hidden = [m for m in model.decoder.body.modules() if isinstance(m, nn.Linear)]
    head = getattr(model.decoder, "to_logits", None) or getattr(model.decoder, "to_mean", None)
    if len(encoder_hidden) != 1 or len(decoder_hidden) != 1 or head is None:
        raise ValueError("symmetric_copy needs an MLP VAE with exactly one hidden layer per side")
    return encoder_hidden[0], decoder_hidden[0], head, model.encoder


@torch.no_grad()
def symmetric_copy(
    model: nn.Module,
    latent_perm: torch.Tensor,
    latent_signs: torch.Tensor,
    encoder_hidden_perm: torch.Tensor,
    decoder_hidden_perm: torch.Tensor,
) -> nn.Module:
    """A copy of a one-hidden-layer MLP VAE that computes the same function, relabelled.

    Introduced in notebook 06. The copy's hidden units are permuted (encoder and decoder), its
    latent units permuted by ``latent_perm`` and multiplied by ``latent_signs`` (+1 or -1):
    mu' = signs * mu[perm], logvar' = logvar[perm], and its decoder maps signs * z[perm] to
    what the original maps z to. Since N(0, I) is symmetric under both, the copy has exactly
    the same ELBO, with the noise eps' = signs * eps[perm].

    :param latent_perm, latent_signs: (latent_dim,). :param *_hidden_perm: (hidden units,).
    """
    if not bool(((latent_signs == 1) | (latent_signs == -1)).all()):
        raise ValueError("latent_signs must be +1 or -1")
    twin = copy.deepcopy(model)
    enc_hidden, dec_hidden, head, encoder = _linear_layers(twin)
    signs = latent_signs.to(encoder.to_mu.weight)
    # encoder hidden units: rows of the hidden layer, columns of the heads
    enc_hidden.weight.copy_(enc_hidden.weight[encoder_hidden_perm])
    enc_hidden.bias.copy_(enc_hidden.bias[encoder_hidden_perm])
    for to_out in (encoder.to_mu, encoder.to_logvar):
        to_out.weight.copy_(to_out.weight[:, encoder_hidden_perm])
    # latent units: rows of the heads (signs only on mu), columns of the decoder's first layer
    encoder.to_mu.weight.copy_(encoder.to_mu.weight[latent_perm] * signs[:, None])
    encoder.to_mu.bias.copy_(encoder.to_mu.bias[latent_perm] * signs)
    encoder.to_logvar.weight.copy_(encoder.to_logvar.weight[latent_perm])
    encoder.to_logvar.bias.copy_(encoder.to_logvar.bias[latent_perm])
    dec_hidden.weight.copy_(dec_hidden.weight[:, latent_perm] * signs[None, :])
    # decoder hidden units
    dec_hidden.weight.copy_(dec_hidden.weight[decoder_hidden_perm])
    dec_hidden.bias.copy_(dec_hidden.bias[decoder_hidden_perm])
    head.weight.copy_(head.weight[:, decoder_hidden_perm])
    return twin
