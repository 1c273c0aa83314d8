"""The pieces every trainer in nesy shares (the translator in ``logic.translate.seq2seq``, the
tactic model in ``provers.generators.traced_training``): a linear warm-up then cosine decay to 5%
of the peak learning rate, and resuming from a checkpoint that holds the model, optimiser,
schedule, step and torch RNG state, so that a stopped-and-resumed run gives the same weights as an
uninterrupted one. torch is imported by the caller and passed in."""

from __future__ import annotations

import math
from pathlib import Path


def warmup_cosine(torch, optimizer, warmup: int, total: int):
    """A ``LambdaLR``: ``(step + 1) / warmup`` during the warm-up, then a cosine from 1 to 0.05."""

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(
            0.05,
            0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup))),
        )

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)


def resume(torch, state_path: Path, model, optimizer, scheduler) -> int:
    """Load ``state_path`` (when it exists) into the model, optimiser, schedule and torch's RNG;
    return the step to continue from (0 for a fresh run)."""
    if not state_path.is_file():
        return 0
    state = torch.load(state_path, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["step"])


def optimizer_step(torch, model, optimizer, scheduler, input_ids, attention_mask, labels) -> float:
    """One training step: the loss, its gradients clipped to norm 1, the optimiser and the schedule
    stepped, the gradients cleared; returns the loss."""
    loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    return float(loss.detach())
