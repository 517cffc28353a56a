"""The referee: every graded exercise tested again, in a process the student's code cannot reach.

nbgrader runs a submission's cells and then the hidden tests in one kernel, so a determined
student's code runs first and can rebind whatever those tests compare with or watch. The referee
trusts nothing that ran in that kernel. For each exercise of a submission it

1. computes the expected answers here, with the package's reference implementation or an
   independent one, on inputs drawn from a seed (derived from ``$VAE_GRADER_SECRET``, so that a
   course can vary them);
2. forks a child from a server that imported PyTorch before any student code existed; the child
   limits its own memory and CPU time, makes every reference implementation of the exercise
   raise when called (by replacing its code), installs the strict audit guard of
   ``vae_tutorial.grading`` (no processes, no C calls, no reading the project's or the course's
   files, no profilers, no new code objects), runs only the imports and definitions of the
   student's cells up to the solution cell, calls the student's function on the same inputs,
   and sends back float64 arrays as raw bytes (never a pickle);
3. compares those arrays with its own, with NumPy, here.

An exercise passes only if the referee agrees. ``review`` returns the verdicts of a submission;
``apply`` sets the score of every failed exercise's test cells to 0 in the gradebook, with the
reason as a comment.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import multiprocessing
import os
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 60  # per exercise, as a grading kernel's cell
MEMORY_MB = 2048
MAX_REPLY_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Exercise:
    """One graded exercise, as the referee tests it.

    ``cases(seed)`` builds the inputs (run in both processes, before any student code);
    ``run(function, case)`` calls the student's function in the child and returns its outputs;
    ``expect(case)`` returns the expected outputs here, each as (value, rtol, atol);
    ``forbidden()`` lists the reference implementations that must not be called.
    """

    assignment: str
    solution_id: str
    tests_ids: tuple[str, ...]
    function: str
    cases: Callable[[int], list]
    run: Callable
    expect: Callable
    forbidden: Callable[[], list]


# --- the exercises -------------------------------------------------------------------------------
# Each reference below is independent of the package where one exists (explicit matrix products,
# torch.distributions, NumPy), as in the notebooks' hidden tests.


def _generator(seed):
    import torch

    return torch.Generator().manual_seed(seed)


def _encoder_cases(seed):
    import torch
    from torch import nn

    cases = []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for shape, widths, batch in [((1, 28, 28), (40,), 3), ((1, 8, 8), (16, 12), 7)]:
            latent = 1 + seed % 5
            sizes = [math.prod(shape), *widths]
            layers = []
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
                layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
            heads = (nn.Linear(widths[-1], latent), nn.Linear(widths[-1], latent))
            cases.append((torch.rand(batch, *shape), nn.Sequential(*layers), *heads))
    return cases


def _encoder_outputs(mu, logvar, hidden, heads):
    import torch

    weights = [layer.weight for layer in hidden if hasattr(layer, "weight")]
    weights += [head.weight for head in heads]
    grads = torch.autograd.grad(mu.sum() + 2 * logvar.sum(), weights, allow_unused=True)
    return {"mu": mu, "logvar": logvar, **{f"grad{i}": g for i, g in enumerate(grads)}}


def _encoder_run(encode, case):
    x, hidden, to_mu, to_logvar = case
    mu, logvar = _tuple(encode(x, hidden, to_mu, to_logvar), 2)
    return _encoder_outputs(mu, logvar, hidden, (to_mu, to_logvar))


def _encoder_expect(case):
    x, hidden, to_mu, to_logvar = case
    h = x.reshape(len(x), -1)
    for layer in hidden:
        h = h @ layer.weight.T + layer.bias if hasattr(layer, "weight") else h.clamp(min=0)
    mu, logvar = h @ to_mu.weight.T + to_mu.bias, h @ to_logvar.weight.T + to_logvar.bias
    return _tolerant(_encoder_outputs(mu, logvar, hidden, (to_mu, to_logvar)), 1e-5, 1e-6)


def _sample_z_cases(seed):
    import torch

    g, f64 = _generator(seed), torch.float64
    cases = []
    for shape, samples in [((5, 3), ()), ((2, 4), (6,))]:
        mu = torch.randn(shape, generator=g, dtype=f64)
        logvar = 4 * torch.rand(shape, generator=g, dtype=f64) - 2
        cases.append((mu, logvar, torch.randn((*samples, *shape), generator=g, dtype=f64)))
    return cases


def _sample_z_outputs(z, mu, logvar):
    import torch

    grad_mu, grad_logvar = torch.autograd.grad((z * z).sum(), (mu, logvar), allow_unused=True)
    return {"z": z, "grad_mu": grad_mu, "grad_logvar": grad_logvar}


def _sample_z_run(sample_z, case):
    mu, logvar, eps = (t.clone().requires_grad_(i < 2) for i, t in enumerate(case))
    return _sample_z_outputs(sample_z(mu, logvar, eps), mu, logvar)


def _sample_z_expect(case):
    import torch

    mu, logvar, eps = (t.clone().requires_grad_(i < 2) for i, t in enumerate(case))
    scale = torch.distributions.Normal(mu, logvar.exp().sqrt()).stddev
    z = torch.distributions.transforms.AffineTransform(mu, scale)(eps)
    return _tolerant(_sample_z_outputs(z, mu, logvar), 1e-9, 1e-12)


def _score_cases(seed):
    import torch

    g = _generator(seed)
    return [
        (mu + torch.randn(1000, generator=g, dtype=torch.float64), mu, k)
        for mu, k in [(0.0, 0.0), (1.5, -0.5 - seed % 3)]
    ]


def _score_run(estimate, case):
    return {"estimates": estimate(*case)}


def _score_expect(case):
    import torch

    x, mu, k = case
    mus = torch.full_like(x, mu).requires_grad_()
    log_density = torch.distributions.Normal(mus, 1.0).log_prob(x)
    (expected,) = torch.autograd.grad((((x - k) ** 2) * log_density).sum(), mus)
    return _tolerant({"estimates": expected}, 1e-9, 1e-12)


def _bernoulli_cases(seed):
    import torch

    g, cases = _generator(seed), []
    for shape in [(5, 1, 28, 28), (1, 1, 4, 7)]:
        logits = 8 * torch.randn(shape, generator=g)
        x = torch.bernoulli(torch.full(shape, 0.5), generator=g)
        logits.view(-1)[:4] = torch.tensor([100.0, -100.0, 100.0, -100.0])
        x.view(-1)[:4] = torch.tensor([1.0, 1.0, 0.0, 0.0])
        cases.append((x, logits))
    logits = torch.randn(2, 1, 3, 3, generator=g, dtype=torch.float64)
    x = torch.bernoulli(torch.full((2, 1, 3, 3), 0.3, dtype=torch.float64), generator=g)
    return [*cases, (x, logits)]


def _bernoulli_run(log_prob, case):
    return {"log_prob": log_prob(*case)}


def _bernoulli_expect(case):
    import torch

    x, logits = case
    expected = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum((1, 2, 3))
    return _tolerant({"log_prob": expected}, 1e-5, 1e-4)


def _kl_cases(seed):
    import torch

    g, f64 = _generator(seed), torch.float64
    return [
        (3 * torch.randn(rows, units, generator=g, dtype=f64),
         2 * torch.randn(rows, units, generator=g, dtype=f64))
        for rows, units in [(7, 20), (3, 1)]
    ]  # fmt: skip


def _kl_run(kl, case):
    return {"kl": kl(*case)}


def _kl_expect(case):
    import torch

    mu, logvar = case
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return _tolerant({"kl": torch.distributions.kl_divergence(q, p).sum(-1)}, 1e-9, 1e-12)


def _elbo_cases(seed):
    import torch

    from vae_tutorial import VAE, VAEConfig

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        bernoulli = VAE(VAEConfig(image_shape=(1, 8, 8), hidden_dims=(32,), latent_dim=3))
        config = VAEConfig((1, 8, 8), (16, 16), 2, likelihood="gaussian", learn_variance=True)
        gaussian = VAE(config)
        with torch.no_grad():
            gaussian.decoder.logvar.uniform_(-1.0, 1.0)
        grey = torch.rand(6, 1, 8, 8)
        return [(bernoulli, torch.bernoulli(grey)), (gaussian, grey)]


def _elbo_outputs(values, vae):
    import torch

    grads = torch.autograd.grad(values[0].sum(), list(vae.encoder.parameters()), allow_unused=True)
    return {"seed_7": values[0], "seed_8": values[1], **{f"g{i}": g for i, g in enumerate(grads)}}


def _elbo_run(elbo, case):
    vae, x = case
    return _elbo_outputs([elbo(vae, x, _generator(seed)) for seed in (7, 8)], vae)


def _elbo_expect(case):
    import torch

    vae, x = case
    values = []
    for seed in (7, 8):
        loc, log_variance = vae.encoder(x)
        scale = torch.exp(0.5 * log_variance)
        z = loc + scale * torch.randn(loc.shape, generator=_generator(seed))
        if vae.config.likelihood == "bernoulli":
            pixels = torch.distributions.Bernoulli(logits=vae.decoder(z))
        else:
            mean, logvar = vae.decoder(z)
            pixels = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
        q = torch.distributions.Normal(loc, scale)
        p = torch.distributions.Normal(torch.zeros_like(loc), torch.ones_like(scale))
        kl = torch.distributions.kl_divergence(q, p).sum(1)
        values.append(pixels.log_prob(x).flatten(1).sum(1) - kl)
    return _tolerant(_elbo_outputs(values, vae), 1e-4, 1e-4)


def _activity_cases(seed):
    import torch

    rng = np.random.default_rng(seed)
    cases = []
    for rows, units in [(40, 6), (1000, 32)]:
        scales = 10.0 ** rng.uniform(-3, 0.5, size=units)
        mu = rng.normal(size=(rows, units)) * scales + rng.normal(size=units)
        cases.append((torch.from_numpy(mu),))
    return cases


def _activity_run(my_active_units, case):
    activity, count = _tuple(my_active_units(case[0]), 2)
    _, count_01 = _tuple(my_active_units(case[0], threshold=0.1), 2)
    return {"activity": activity, "count": _integer(count), "count_01": _integer(count_01)}


def _activity_expect(case):
    activity = np.var(case[0].numpy(), axis=0, ddof=1)
    expected = {"activity": activity, "count": (activity > 0.01).sum(),
                "count_01": (activity > 0.1).sum()}  # fmt: skip
    return _tolerant(expected, 1e-8, 0.0)


def _ppca_cases(seed):
    import torch

    rng = np.random.default_rng(seed)
    cases = []
    for rows, dim, q in [(300, 8, 3), (120, 10, 4)]:
        x = rng.normal(size=(rows, dim)) * np.linspace(3, 0.5, dim) + rng.normal(size=dim)
        cases.append((torch.from_numpy(x), q))
    return cases


def _ppca_run(my_ppca, case):
    mean, weight, sigma2 = _tuple(my_ppca(*case), 3)
    return {"mean": mean, "covariance": _tensor(weight) @ _tensor(weight).T, "sigma2": sigma2}


def _ppca_expect(case):
    x, q = case[0].numpy(), case[1]
    centred = x - x.mean(0)
    values, vectors = np.linalg.eigh(centred.T @ centred / len(x))
    values, vectors = values[::-1], vectors[:, ::-1]
    sigma2 = values[q:].mean()
    weight = vectors[:, :q] * np.sqrt(np.maximum(values[:q] - sigma2, 0))
    expected = {"mean": x.mean(0), "covariance": weight @ weight.T, "sigma2": sigma2}
    return _tolerant(expected, 1e-8, 1e-8)


def _sampler_cases(seed):
    import torch

    from vae_tutorial import VAE, VAEConfig

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return [
            (VAE(VAEConfig((1, 8, 8), (16,), 3)).decoder, 6, 31 + seed),
            (VAE(VAEConfig((1, 8, 8), (16,), 4, likelihood="gaussian")).decoder, 2, 32),
        ]


def _sampler_run(sample_images, case):
    decoder, n, seed = case
    images = _tensor(sample_images(decoder, n, _generator(seed)))
    return {"images": images, "requires_grad": float(images.requires_grad)}


def _sampler_expect(case):
    import torch

    decoder, n, seed = case
    z = torch.randn(n, decoder.latent_dim, generator=_generator(seed))
    if isinstance(decoder(z), tuple):
        mean = decoder(z)[0]
    else:
        mean = torch.distributions.Bernoulli(logits=decoder(z)).mean
    return _tolerant({"images": mean, "requires_grad": 0.0}, 1e-5, 1e-6)


def _slerp_cases(seed):
    import torch

    rng = np.random.default_rng(seed)
    a = rng.normal(size=4)
    pairs = [(rng.normal(size=d), s * rng.normal(size=d)) for d, s in [(2, 1.0), (20, 3.0)]]
    pairs += [(a, 2.5 * a), (np.zeros(3), rng.normal(size=3))]
    t = torch.tensor([0.0, 0.1, 0.37, 0.5, 0.9, 1.0], dtype=torch.float64)
    return [(torch.from_numpy(p), torch.from_numpy(q), t) for p, q in pairs]


def _slerp_run(my_slerp, case):
    return {"path": my_slerp(*case)}


def _slerp_expect(case):
    a, b, ts = (t.numpy() for t in case)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    omega = np.arccos(np.clip(a @ b / norms, -1, 1)) if norms > 0 else 0.0
    if np.sin(omega) < 1e-6:
        path = np.stack([(1 - s) * a + s * b for s in ts])
    else:
        path = np.stack(
            [(np.sin((1 - s) * omega) * a + np.sin(s * omega) * b) / np.sin(omega) for s in ts]
        )
    return _tolerant({"path": path}, 1e-7, 1e-9)


def _iw_cases(seed):
    import torch

    from vae_tutorial.decoder import BernoulliDecoder
    from vae_tutorial.evaluation import LinearGaussianVAE

    g, f64 = _generator(seed), torch.float64
    exact = LinearGaussianVAE((1, 3, 3), 3, noise_variance=0.02, seed=seed)
    tiny = LinearGaussianVAE(noise_variance=1e-4, seed=seed + 1)  # log-weights below -800
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        decoder = BernoulliDecoder(1, (8,), (1, 2, 2), activation="tanh").double()

    def encoder(x):
        mu = torch.full((len(x), 1), 0.3, dtype=f64)
        return mu, torch.full_like(mu, math.log(2.0))

    one_d = types.SimpleNamespace(encoder=encoder, decoder=decoder)
    x_one_d = torch.tensor([[0, 0, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1]], dtype=f64).view(3, 1, 2, 2)
    return [
        (exact, 0.35 + 0.3 * torch.rand(10, 1, 3, 3, generator=g, dtype=f64), 5, "exact"),
        (tiny, torch.rand(4, 1, 2, 3, generator=g, dtype=f64), 3, "exact"),
        (one_d, x_one_d, 20_000, "grid"),
    ]


def _iw_run(my_iw, case):
    import torch

    model, x, k, _ = case
    with torch.no_grad():
        return {"log_p": my_iw(model, x, k, _generator(9))}


def _iw_expect(case):
    import torch

    model, x, _, kind = case
    with torch.no_grad():
        if kind == "exact":
            expected = model.log_likelihood(x)
            return _tolerant({"log_p": expected}, 1e-9, 1e-8)
        z = torch.linspace(-12, 12, 24_001, dtype=torch.float64)
        log_joint = model.decoder.log_prob(x, z[:, None, None].expand(-1, len(x), 1))
        log_joint = log_joint - 0.5 * (math.log(2 * math.pi) + z**2)[:, None]
        expected = torch.logsumexp(log_joint, 0) + math.log(float(z[1] - z[0]))
    return _tolerant({"log_p": expected}, 0.0, 0.02)


def _forbidden(*names):
    """The package's functions ``module.attribute[.method]`` and torch's, looked up when needed."""

    def lookup():
        import importlib

        found = []
        for name in names:
            module, *attributes = name.split(":")[0], *name.split(":")[1].split(".")
            obj = importlib.import_module(module)
            for attribute in attributes:
                obj = getattr(obj, attribute)
            found.append(obj)
        return found

    return lookup


EXERCISES = [
    Exercise("01_encoder", "encoder_forward_solution", ("encoder_forward_tests",), "encode",
             _encoder_cases, _encoder_run, _encoder_expect,
             _forbidden("vae_tutorial.encoder:_GaussianEncoder.forward",
                        "vae_tutorial.encoder:posterior_parameters")),
    Exercise("02_reparameterization", "sample_z_solution", ("sample_z_tests",), "sample_z",
             _sample_z_cases, _sample_z_run, _sample_z_expect,
             _forbidden("vae_tutorial.reparameterization:reparameterize",
                        "torch.distributions.normal:Normal.rsample")),
    Exercise("02_reparameterization", "score_function_solution", ("score_function_tests",),
             "score_function_estimate", _score_cases, _score_run, _score_expect,
             _forbidden("vae_tutorial.reparameterization:score_function_gradients",
                        "vae_tutorial.reparameterization:pathwise_gradients")),
    Exercise("03_decoder", "decoder_bernoulli_log_prob_solution",
             ("decoder_bernoulli_log_prob_tests",), "bernoulli_log_prob",
             _bernoulli_cases, _bernoulli_run, _bernoulli_expect,
             _forbidden("vae_tutorial.decoder:bernoulli_log_likelihood",
                        "vae_tutorial.decoder:BernoulliDecoder.log_prob",
                        "torch.distributions.bernoulli:Bernoulli.log_prob")),
    Exercise("04_elbo", "kl_to_standard_normal_solution", ("kl_to_standard_normal_tests",),
             "kl_to_standard_normal", _kl_cases, _kl_run, _kl_expect,
             _forbidden("vae_tutorial.elbo:gaussian_kl", "vae_tutorial.elbo:gaussian_kl_per_unit",
                        "vae_tutorial.elbo:elbo_terms",
                        "torch.distributions.kl:kl_divergence",
                        "torch.distributions.kl:_kl_normal_normal")),
    Exercise("04_elbo", "elbo_solution", ("elbo_tests",), "elbo",
             _elbo_cases, _elbo_run, _elbo_expect,
             _forbidden("vae_tutorial.elbo:elbo_terms", "vae_tutorial.elbo:negative_elbo")),
    Exercise("05_training", "active_units_solution", ("active_units_tests",), "my_active_units",
             _activity_cases, _activity_run, _activity_expect,
             _forbidden("vae_tutorial.collapse:unit_activity",
                        "vae_tutorial.collapse:active_units")),
    Exercise("06_nonconvexity", "ppca_solution", ("ppca_tests",), "my_ppca",
             _ppca_cases, _ppca_run, _ppca_expect,
             _forbidden("vae_tutorial.linear_vae:ppca_fit")),
    Exercise("07_latent_space", "sample_images_solution", ("sample_images_tests",),
             "sample_images", _sampler_cases, _sampler_run, _sampler_expect,
             _forbidden("vae_tutorial.vae:sample_prior", "vae_tutorial.vae:VAE.generate")),
    Exercise("07_latent_space", "my_slerp_solution", ("my_slerp_tests",), "my_slerp",
             _slerp_cases, _slerp_run, _slerp_expect,
             _forbidden("vae_tutorial.latent:slerp")),
    Exercise("08_evaluation", "iw_bound_solution", ("iw_bound_tests",), "my_iw_log_likelihood",
             _iw_cases, _iw_run, _iw_expect,
             _forbidden("vae_tutorial.evaluation:iw_log_likelihood",
                        "vae_tutorial.evaluation:log_importance_weights",
                        "vae_tutorial.evaluation:evaluate_test",
                        "vae_tutorial.evaluation:LinearGaussianVAE.log_likelihood")),
]  # fmt: skip


def _tolerant(outputs: dict, rtol: float, atol: float) -> dict:
    return {key: (_to_array(value), rtol, atol) for key, value in outputs.items()}


def _to_array(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


# --- the child: trusted set-up, then the student's definitions, then plain arrays out -----------
# What the child needs from torch is captured before any student code runs, so rebinding torch's
# attributes later changes nothing here; results must be exactly torch.Tensor, numpy.ndarray,
# int, float or a tuple of them (no subclasses: they could compare equal to anything).
_CAPTURED: dict = {}


def _capture() -> None:
    import torch

    _CAPTURED.update(
        type=type, Tensor=torch.Tensor, ndarray=np.ndarray, tuple=tuple, int=int, float=float,
        bool=bool, detach=torch.Tensor.detach, cpu=torch.Tensor.cpu, to=torch.Tensor.to,
        numpy=torch.Tensor.numpy, contiguous=torch.Tensor.contiguous, float64=torch.float64,
        array=np.array, no_torch_function=torch._C.DisableTorchFunction, len=len,
    )  # fmt: skip


class Refused(Exception):
    """The student's function returned something the referee does not read."""


def _tensor(value):
    c = _CAPTURED
    if c["type"](value) is not c["Tensor"]:
        raise Refused(f"expected a torch.Tensor, got {c['type'](value).__name__}")
    return value


def _tuple(value, length: int):
    c = _CAPTURED
    if c["type"](value) is not c["tuple"] or c["len"](value) != length:
        raise Refused(f"expected a tuple of {length} values")
    return value


def _integer(value):
    c = _CAPTURED
    if c["type"](value) is not c["int"]:
        raise Refused(f"expected an int, got {c['type'](value).__name__}")
    return value


def _plain(value) -> np.ndarray:
    """A float64 copy of an output, through functions captured before the student's code ran."""
    c = _CAPTURED
    kind = c["type"](value)
    if value is None:
        raise Refused("expected a value, got None")
    if kind is c["Tensor"]:
        with c["no_torch_function"]():
            value = c["numpy"](c["contiguous"](c["to"](c["cpu"](c["detach"](value)), c["float64"])))
        return c["array"](value, dtype=np.float64, copy=True)
    if kind is c["ndarray"] or kind in (c["int"], c["float"], c["bool"]):
        return c["array"](value, dtype=np.float64, copy=True)
    if kind in (np.float64, np.float32, np.int64, np.int32, np.bool_):
        return c["array"](value, dtype=np.float64, copy=True)
    raise Refused(f"cannot read a {kind.__name__}")


def _violation_code(free: int):
    """Code that raises, with ``free`` free variables (a function's code keeps their number)."""
    names = [f"_free{i}" for i in range(free)]
    source = (
        "def outer():\n"
        + "".join(f"    {name} = None\n" for name in names)
        + "    def inner(*args, **kwargs):\n"
        + (f"        {', '.join(names)}\n" if names else "")
        + "        raise PermissionError("
        "'the referee does not allow calling the reference implementation')\n"
        "    return inner\n"
    )
    namespace: dict = {}
    exec(source, namespace)
    return namespace["outer"]().__code__


def _poison(obj) -> None:
    """Make ``obj`` (and what it wraps) raise when called, under whatever name it is reached."""
    import inspect

    for candidate in {id(obj): obj, id(inspect.unwrap(obj)): inspect.unwrap(obj)}.values():
        function = getattr(candidate, "__func__", candidate)
        function.__code__ = _violation_code(len(function.__code__.co_freevars))


def definitions(source: str, assignments: bool = True) -> str:
    """The imports, function and class definitions (and assignments) of a cell's source.

    Not its calls, loops or conditionals: a student's own checks in a solution cell often use
    the notebook's variables, which the referee does not have (each statement that fails is
    skipped, so a constant defined above the function still works). ``assignments=False`` for
    the notebook's other cells: their data and models are not needed, and take time to make.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    kept += (ast.Assign, ast.AnnAssign) if assignments else ()
    body = [node for node in tree.body if isinstance(node, kept)]
    return "\n\n".join(ast.unparse(node) for node in body)


def _child(index: int, seed: int, prelude: str, sources: list[str], denied: list[str], conn):
    """Runs in the forked child: see the module's docstring."""
    import linecache

    import torch

    from vae_tutorial.grading import STRICT_EVENTS, install_guard, limit_resources

    exercise = EXERCISES[index]
    torch.set_num_threads(1)
    limit_resources(MEMORY_MB, TIMEOUT_S)
    _capture()
    cases = exercise.cases(seed)
    namespace: dict = {"__name__": "__submission__"}
    exec(compile(prelude, "<notebook imports>", "exec"), namespace)
    for obj in exercise.forbidden():
        _poison(obj)
    linecache.clearcache()
    send, dumps, encode = conn.send_bytes, json.dumps, str.encode
    install_guard(denied, events=STRICT_EVENTS)
    for source in sources:  # each statement alone: one that fails does not stop the others
        for node in ast.parse(source).body:
            try:
                exec(compile(ast.Module([node], []), "<submission>", "exec"), namespace)
            except BaseException:  # noqa: BLE001, S110 (the student's code may raise anything)
                pass
    function = namespace.get(exercise.function)
    if not callable(function):
        send(encode(dumps({"error": f"no function {exercise.function} is defined"})))
        return
    for number, case in enumerate(cases):
        try:
            outputs = exercise.run(function, case)
            arrays = {key: _plain(value) for key, value in outputs.items()}
        except BaseException as error:  # noqa: BLE001
            message = f"case {number}: {type(error).__name__}: {error}"[:500]
            send(encode(dumps({"error": message})))
            return
        header = {key: [list(a.shape), a.nbytes] for key, a in arrays.items()}
        send(encode(dumps({"case": number, "arrays": header})))
        for array in arrays.values():
            send(array.tobytes())
    send(encode(dumps({"done": True})))


# --- the parent ----------------------------------------------------------------------------------


@dataclass
class Verdict:
    exercise: Exercise
    passed: bool
    reason: str


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "numpy", "vae_tutorial", "tools.referee"])
    return context


def course_seed(exercise: Exercise) -> int:
    secret = os.environ.get("VAE_GRADER_SECRET", "")
    digest = hashlib.sha256(f"{secret}/{exercise.solution_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") % 1_000_003


def notebook_imports(master: Path) -> str:
    """The import statements of the master's own cells, which a solution may rely on."""
    lines = []
    for cell in nbformat.read(master, as_version=4).cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        lines += [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return "\n".join(dict.fromkeys(lines))


def student_sources(submission: Path, exercise: Exercise) -> list[str] | str:
    """The definitions of the student's cells up to the solution cell, or why there are none."""
    try:
        cells = nbformat.read(submission, as_version=4).cells
    except Exception as error:  # noqa: BLE001 (any unreadable file)
        return f"the notebook cannot be read ({type(error).__name__})"
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in cells]
    if ids.count(exercise.solution_id) != 1:
        return f"the solution cell {exercise.solution_id} is missing or duplicated"
    sources = []
    for cell, grade_id in zip(cells, ids, strict=True):
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not grading.get("grade") and not grading.get("locked"):
            sources.append(definitions(cell.source, assignments=grade_id == exercise.solution_id))
        if grade_id == exercise.solution_id:
            return sources
    return "unreachable"


def judge(exercise: Exercise, submission: Path, master: Path, course: Path | None = None,
          timeout: float = TIMEOUT_S) -> Verdict:  # fmt: skip
    """Test one exercise of ``submission`` in a child process; see the module's docstring."""
    sources = student_sources(submission, exercise)
    if isinstance(sources, str):
        return Verdict(exercise, False, sources)
    seed = course_seed(exercise)
    expected = [exercise.expect(case) for case in exercise.cases(seed)]
    denied = [str(ROOT), *([str(course)] if course else [])]
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_child,
        args=(EXERCISES.index(exercise), seed, notebook_imports(master), sources, denied, send),
        daemon=True,
    )
    child.start()
    send.close()
    try:
        return Verdict(exercise, *_compare(receive, expected, timeout))
    finally:
        child.kill()
        child.join()
        receive.close()


def _compare(receive, expected: list[dict], timeout: float) -> tuple[bool, str]:
    import time

    deadline = time.monotonic() + timeout

    def message() -> bytes:
        if not receive.poll(max(0.0, deadline - time.monotonic())):
            raise TimeoutError
        return receive.recv_bytes(MAX_REPLY_BYTES)

    try:
        for number, outputs in enumerate(expected):
            header = json.loads(message())
            if "error" in header:
                return False, str(header["error"])
            if header.get("case") != number or set(header["arrays"]) != set(outputs):
                return False, f"case {number}: unexpected outputs"
            for key, (shape, nbytes) in header["arrays"].items():
                data = message()
                if len(data) != nbytes or math.prod(shape) * 8 != nbytes:
                    return False, f"case {number}: malformed {key}"
                got = np.frombuffer(data, dtype=np.float64).reshape(shape)
                want, rtol, atol = outputs[key]
                if got.shape != want.shape:
                    return False, f"case {number}: {key} has shape {got.shape}, not {want.shape}"
                if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False):
                    return False, f"case {number}: {key} differs from the expected values"
        if not json.loads(message()).get("done"):
            return False, "the answer did not finish"
    except TimeoutError:
        return False, f"no answer within {timeout:g} s"
    except (EOFError, OSError):
        return False, "the process stopped before answering (it exited, or ran out of memory)"
    except (ValueError, KeyError, TypeError):
        return False, "unreadable answer"
    return True, "agrees with the reference"


def exercises_of(assignment: str) -> list[Exercise]:
    return [exercise for exercise in EXERCISES if exercise.assignment == assignment]


def review(submission: Path, master: Path, course: Path | None = None,
           timeout: float = TIMEOUT_S) -> list[Verdict]:  # fmt: skip
    """The referee's verdict on every exercise of one submitted notebook."""
    return [
        judge(exercise, submission, master, course, timeout)
        for exercise in exercises_of(master.stem)
    ]


def apply(course: Path, assignment: str, student: str, verdicts: list[Verdict]) -> None:
    """Score 0, with the reason as a comment, for every test cell of a failed exercise."""
    from tools.assignments import gradebook as open_gradebook

    with open_gradebook(course) as gradebook:
        for verdict in verdicts:
            if verdict.passed:
                continue
            for tests_id in verdict.exercise.tests_ids:
                grade = gradebook.find_grade(tests_id, assignment, assignment, student)
                grade.manual_score = 0
            solution_id = verdict.exercise.solution_id
            comment = gradebook.find_comment(solution_id, assignment, assignment, student)
            comment.manual_comment = f"Referee: {verdict.reason}. No points for this exercise."
        gradebook.db.commit()
