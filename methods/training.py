"""Training pieces shared by method plugins that optimise a network on seen classes."""
from __future__ import annotations

from typing import Callable


def make_optimizer(net, cfg, method: str):
    """SGD (Nesterov when momentum > 0) or AdamW over trainable parameters, from a method
    config with fields optimizer, lr, momentum, weight_decay."""
    import torch
    params = [p for p in net.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0,
                               weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"{method}: optimizer must be 'sgd' or 'adamw', got {cfg.optimizer!r}")


def train_minibatches(opt, sched, num_samples: int, batch_size: int, epochs: int,
                      loss_terms: Callable, *, device: str, seed: int, desc: str) -> list[dict[str, float]]:
    """Shuffled mini-batch training; `loss_terms(batch_indices) -> {name: scalar loss}`.

    The summed terms are optimised (mixed precision on CUDA only); returns per-epoch
    sample-weighted means of every term. Shuffling uses its own generator seeded by `seed`,
    so two runs with one seed see the same batches.
    """
    import torch
    from tqdm.auto import tqdm

    gen = torch.Generator().manual_seed(seed)
    cuda = device.startswith("cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    history = []
    for _ in tqdm(range(epochs), desc=desc, leave=False):
        order = torch.randperm(num_samples, generator=gen)
        totals: dict[str, float] = {}
        for i in range(0, num_samples, batch_size):
            b = order[i:i + batch_size]
            with torch.autocast("cuda", enabled=cuda):
                terms = loss_terms(b)
                loss = sum(terms.values())
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            for k, v in terms.items():
                totals[k] = totals.get(k, 0.0) + float(v.detach()) * len(b)
        sched.step()
        history.append({k: v / num_samples for k, v in totals.items()})
    return history
