"""The LoRA training run: set up, resume, fit, write the adapter.

Built from litgpt's blocks (litgpt.lora.GPT, mark_only_lora_as_trainable, lora_filter, chunked_cross_entropy)
and Lightning Fabric, not from litgpt's finetune_lora script, because this loop also:

- packs several rows into one sequence (padding-free) with a block-diagonal causal mask and RoPE positions
  restarting at every row, through litgpt's own Blocks (doppel.training.packed);
- computes the loss on the reply tokens only, and runs the LM head only where there is a target;
- resumes after a crash or kill -9 from its last checkpoint (LoRA weights, optimizer, scheduler, step, RNG;
  the data order is a pure function of the seed and the step), kept in models/train_state/ outside the DVC
  outputs and tied to a hash of the params, the data and the base, so a changed config starts fresh;
- logs loss, val_loss, lr, effective tokens/s and MFU to dvclive, prints progress and a one-screen summary;
- writes the adapter only (LoRA weights + configs), never a merged full copy of the model.

The adapter loads as: `config = litgpt.lora.Config.from_file(adapter/model_config.yaml)`,
`model = litgpt.lora.GPT(config)`, base lit_model.pth then adapter.pth (strict=False), `merge_lora_weights`.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from doppel.config import TrainConfig
from doppel.errors import InputError
from doppel.model.encode import Example
from doppel.training.data import IGNORE, collate, encode_rows, make_plan, pack
from doppel.training.hardware import flop_counter, make_fabric, peak_flops, sync
from doppel.training.lora import build_model, load_base_weights, lora_kwargs, make_optimizer
from doppel.training.packed import PackedLM, batch_loss
from doppel.training.report import SPEED_KEYS, Logs, fmt_time, quiet, stderr, steady_rates
from doppel.training.report import summary  # noqa: F401  (the stage's summary line: loop.summary)
from doppel.training.schedule import lr_lambda
from doppel.training.state import load_state, mark_finished, rng_state, run_key, save_state, set_rng_state


@dataclass
class Dirs:
    out: Path    # the adapter
    state: Path  # the resume checkpoint
    live: Path   # dvclive: loss, val_loss, lr
    speed: Path  # dvclive: tokens/s, MFU


@dataclass
class Data:
    train: list[Example]
    val: list[Example]
    rows: dict[str, int]       # the summary's row counts
    cut_dropped: tuple[int, int]  # train rows cut on the left, dropped (for the first progress line)
    plan: list[list[list[int]]]   # steps -> sequences -> row indices


@dataclass
class Run:
    """Everything a set-up run holds."""
    cfg: TrainConfig
    data: Data
    config: Any   # litgpt.lora.Config
    fabric: Any
    precision: str
    model: Any    # litgpt.lora.GPT
    module: Any   # PackedLM, set up by Fabric
    optimizer: Any
    scheduler: Any
    key: str      # what a resume checkpoint must match
    count_flops: Callable
    peak: float
    peak_source: str
    n_lora: int
    log: Callable

    @property
    def total_steps(self) -> int:
        return len(self.data.plan)

    @property
    def main(self) -> bool:  # one rank reports, logs and writes; the others only train
        return self.fabric.global_rank == 0


@dataclass
class Progress:
    start_step: int = 0
    history: list[dict] = field(default_factory=list)
    tokens: int = 0
    train_time: float = 0.0
    flops: float = 0.0
    val_before: float | None = None
    this_run: list[tuple[int, float, float]] = field(default_factory=list)  # (tokens, flops, s) per step


def run(cfg: TrainConfig, base_dir: Path, train_file: Path, train_rows: list[dict], val_rows: list[dict],
        dirs: Dirs, log: Callable[[str], None] = stderr) -> dict[str, Any] | None:
    """Fine-tune a LoRA of the base on the rows; write the adapter to dirs.out. The summary, or None on the
    ranks other than 0 of a multi-device run. `train_file` (the rows' file) is hashed into the resume key."""
    t_start = time.perf_counter()
    job = setup(cfg, base_dir, train_file, train_rows, val_rows, log)
    progress = resume(job, dirs.state)
    logs = Logs(dirs.live, dirs.speed, progress.history, writes=job.main)
    if progress.val_before is None:
        t0 = time.perf_counter()
        progress.val_before = evaluate(job.module, job.fabric, job.data.val, cfg)
        job.log(f"  val loss before: {progress.val_before:.4f} ({time.perf_counter() - t0:.1f}s)")
        logs.metrics(0, {"val_loss": progress.val_before})
    fit(job, progress, logs, dirs.state)
    val_after = evaluate(job.module, job.fabric, job.data.val, cfg)
    logs.metrics(job.total_steps, {"val_loss": val_after})
    result = summarize(job, progress, val_after)
    logs.close(result)
    if job.main:
        save_adapter(job, result, dirs.out)
        mark_finished(dirs.state, job.key, job.total_steps)
    job.fabric.barrier()
    result["seconds_total"] = round(time.perf_counter() - t_start, 2)
    return result if job.main else None


# ------------------------------------------------------------------------------------------ set up


def prepare_data(cfg: TrainConfig, tokenizer, train_file: Path, train_rows: list[dict],
                 val_rows: list[dict]) -> Data:
    """Rows -> examples (cut or dropped to fit max_seq_length) and the run's data order."""
    train_ex, stats = encode_rows(tokenizer, train_rows, cfg.max_seq_length)
    val_ex, vstats = encode_rows(tokenizer, val_rows, cfg.max_seq_length)
    if not train_ex:
        raise InputError(train_file, "no usable rows (all replies longer than train.max_seq_length?)")
    rows = {"train": len(train_ex), "val": len(val_ex), "cut_left": stats["cut_left"] + vstats["cut_left"],
            "dropped_long_reply": stats["dropped_long_reply"] + vstats["dropped_long_reply"]}
    plan = make_plan([e.n_inputs for e in train_ex], cfg, cfg.max_seq_length)
    return Data(train_ex, val_ex, rows, (stats["cut_left"], stats["dropped_long_reply"]), plan)


def setup(cfg: TrainConfig, base_dir: Path, train_file: Path, train_rows: list[dict], val_rows: list[dict],
          log: Callable[[str], None]) -> Run:
    """Data, Fabric, the LoRA model on the base's weights, optimizer and schedule; logs what will run."""
    from litgpt.lora import Config
    from litgpt.tokenizer import Tokenizer

    config = Config.from_file(base_dir / "model_config.yaml", **lora_kwargs(cfg))
    if cfg.max_seq_length > config.block_size:
        raise InputError(cfg.source, f"train.max_seq_length {cfg.max_seq_length} > the base model's "
                                     f"block_size {config.block_size}")
    data = prepare_data(cfg, Tokenizer(base_dir), train_file, train_rows, val_rows)
    fabric, precision = make_fabric(cfg)
    if fabric.global_rank != 0:
        log = quiet
    key = run_key(cfg, train_file, base_dir)
    model = build_model(fabric, config, base_dir / "lit_model.pth", cfg, precision)
    module = fabric.setup_module(PackedLM(model))
    if cfg.quantize:
        load_base_weights(model, base_dir / "lit_model.pth")
    optimizer, trainable = make_optimizer(model, cfg)
    optimizer = fabric.setup_optimizers(optimizer)
    schedule = lr_lambda(cfg.warmup_steps, len(data.plan), cfg.schedule, cfg.min_lr_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    count_flops = flop_counter(model)
    peak, peak_source = peak_flops(fabric.device, precision, cfg.peak_tflops)
    job = Run(cfg, data, config, fabric, precision, model, module, optimizer, scheduler, key, count_flops, peak,
              peak_source, sum(p.numel() for p in trainable), log)
    log(f"doppel train: {len(data.train):,} train rows ({data.cut_dropped[0]} cut on the left, "
        f"{data.cut_dropped[1]} dropped: reply > max_seq_length), {len(data.val):,} val rows")
    log(f"  base {base_dir} | LoRA r={cfg.lora_r} alpha={cfg.lora_alpha} on {','.join(cfg.lora_targets)}: "
        f"{job.n_lora:,} trainable params | {fabric.device.type} {precision} | packing {'on' if cfg.packing else 'off'} "
        f"| {job.total_steps} steps x {cfg.batch_size} seqs of <= {cfg.max_seq_length}")
    return job


def resume(job: Run, state_dir: Path) -> Progress:
    """Where the run starts: the checkpoint's progress if one matches the run, else step 0 (a stale
    checkpoint is removed)."""
    state = load_state(state_dir, job.key, job.log)
    if state is None:
        (state_dir / "state.pt").unlink(missing_ok=True)
        return Progress()
    job.model.load_state_dict(state["lora"], strict=False)
    job.optimizer.load_state_dict(state["optimizer"])
    job.scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])
    job.log(f"doppel train: resuming from the checkpoint at step {state['step']}/{job.total_steps} ({state_dir})")
    return Progress(state["step"], state["history"], state["tokens"], state["train_time"], state["flops"],
                    state["val_before"])


# ------------------------------------------------------------------------------------------ fit


def fit(job: Run, progress: Progress, logs: Logs, state_dir: Path) -> None:
    """The optimizer steps from progress.start_step on, with progress lines, interval val losses and
    resume checkpoints."""
    cfg = job.cfg
    job.module.train()
    window = [0, 0.0, 0.0]  # tokens, seconds, flops since the last progress line
    for step in range(progress.start_step, job.total_steps):
        n_tok, flops, dt, loss = timed_step(job, step)
        progress.tokens += n_tok
        progress.flops += flops
        progress.train_time += dt
        progress.this_run.append((n_tok, flops, dt))
        window = [window[0] + n_tok, window[1] + dt, window[2] + flops]
        done = step + 1
        if done % max(1, cfg.log_interval) == 0 or done == job.total_steps:
            report_progress(job, progress, logs, done, loss, window)
            window = [0, 0.0, 0.0]
        if cfg.eval_interval and done % cfg.eval_interval == 0 and done < job.total_steps:
            last_val = evaluate(job.module, job.fabric, job.data.val, cfg, cfg.eval_max_rows)
            job.log(f"  step {done}: val loss {last_val:.4f}" + (f" (first {cfg.eval_max_rows} rows)"
                                                                 if cfg.eval_max_rows else ""))
            logs.metrics(done, {"val_loss": last_val})
        if cfg.checkpoint_interval and done % cfg.checkpoint_interval == 0 and done < job.total_steps:
            if job.main:
                checkpoint(job, progress, state_dir, done)
            job.fabric.barrier()


def timed_step(job: Run, step: int) -> tuple[int, float, float, torch.Tensor]:
    """One optimizer step: (effective tokens, FLOPs, seconds, loss), tokens and FLOPs over all ranks."""
    world = job.fabric.world_size
    sync(job.fabric.device)
    t0 = time.perf_counter()
    loss, lengths, n_targets = optimizer_step(job, step)
    n_tok = sum(lengths) * world
    flops = job.count_flops(lengths, n_targets) * world
    sync(job.fabric.device)
    return n_tok, flops, time.perf_counter() - t0, loss


def optimizer_step(job: Run, step: int) -> tuple[torch.Tensor, list[int], int]:
    """Forward/backward over this rank's micro-batches of the step, then the update: (the step's
    token-mean loss, this rank's row lengths, its target count)."""
    cfg, fabric, module = job.cfg, job.fabric, job.module
    seqs = job.data.plan[step][fabric.global_rank::fabric.world_size]
    # fewer packed sequences than ranks this step: an idle rank still runs one (weighted 0), or DDP's
    # gradient all-reduce would wait for it forever
    idle = not seqs
    seqs = seqs or job.data.plan[step][:1]
    micro = [seqs[i:i + cfg.micro_batch_size] for i in range(0, len(seqs), cfg.micro_batch_size)]
    batches = [collate(job.data.train, m, pad_id=0, packed=cfg.packing) for m in micro]
    n_step = 0 if idle else sum(int((b["targets"] != IGNORE).sum()) for b in batches)
    chunk = 128 if fabric.device.type == "cuda" else 0
    step_loss = torch.zeros((), device=fabric.device)
    for j, batch in enumerate(batches):
        with fabric.no_backward_sync(module, enabled=j < len(batches) - 1):
            loss, n = batch_loss(module, batch, fabric.device, chunk)
            if loss is None:
                continue
            weight = n / n_step if n_step else 0.0
            fabric.backward(loss * weight)
        step_loss += loss.detach() * weight
    if cfg.grad_clip:
        fabric.clip_gradients(module, job.optimizer, max_norm=float(cfg.grad_clip))
    job.optimizer.step()
    job.optimizer.zero_grad(set_to_none=True)
    job.scheduler.step()
    lengths = [] if idle else [n for b in batches for n in b["lengths"]]
    return step_loss, lengths, n_step


def report_progress(job: Run, progress: Progress, logs: Logs, done: int, step_loss: torch.Tensor,
                    window: list) -> None:
    """A progress line and a dvclive point: the loss, lr, and tokens/s and MFU since the last line."""
    tokens, seconds, flops = window
    tps = tokens / max(seconds, 1e-9)
    mfu = flops / max(seconds, 1e-9) / job.peak if job.peak else 0.0
    lr = job.scheduler.get_last_lr()[0]
    loss = float(step_loss)
    eta = sum(t for _, _, t in progress.this_run) / len(progress.this_run) * (job.total_steps - done)
    job.log(f"  step {done}/{job.total_steps} | loss {loss:.4f} | lr {lr:.2e} | {tps:,.0f} tok/s | "
            f"MFU {100 * mfu:.2f}% | ETA {fmt_time(eta)}")
    logs.metrics(done, {"loss": loss, "lr": lr})
    logs.rates(done, tps, mfu)


def checkpoint(job: Run, progress: Progress, state_dir: Path, done: int) -> None:
    from litgpt.lora import lora_filter

    save_state(state_dir, {
        "key": job.key, "step": done, "total_steps": job.total_steps,
        "lora": {k: v.detach().cpu() for k, v in job.model.state_dict().items() if lora_filter(k, v)},
        "optimizer": job.optimizer.state_dict(), "scheduler": job.scheduler.state_dict(), "rng": rng_state(),
        "history": progress.history, "tokens": progress.tokens, "train_time": progress.train_time,
        "flops": progress.flops, "val_before": progress.val_before,
    })


def evaluate(module, fabric, examples: list[Example], cfg: TrainConfig, max_rows: int = 0) -> float:
    """Token-mean loss on the replies of `examples` (packed the same way as training)."""
    if not examples:
        return float("nan")
    if max_rows and len(examples) > max_rows:
        examples = examples[:max_rows]
    lengths = [e.n_inputs for e in examples]
    seqs = pack(lengths, cfg.max_seq_length) if cfg.packing else [[i] for i in range(len(examples))]
    was_training = module.training
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(seqs), cfg.micro_batch_size):
            batch = collate(examples, seqs[i:i + cfg.micro_batch_size], packed=cfg.packing)
            loss, n = batch_loss(module, batch, fabric.device)
            if n:
                total += float(loss) * n
                count += n
    module.train(was_training)
    return total / max(1, count)


# ------------------------------------------------------------------------------------------ save


def summarize(job: Run, p: Progress, val_after: float) -> dict[str, Any]:
    tps = p.tokens / max(p.train_time, 1e-9)
    mfu = p.flops / max(p.train_time, 1e-9) / job.peak if job.peak else 0.0
    summary = {
        "steps": job.total_steps,
        "resumed_from_step": p.start_step,
        "rows": job.data.rows,
        "tokens": p.tokens,
        "train_seconds": round(p.train_time, 2),
        "tokens_per_s": round(tps, 1),
        "mfu": round(mfu, 5),
        **steady_rates(p.this_run, job.peak),
        "peak_tflops": round(job.peak / 1e12, 3),
        "peak_source": job.peak_source,
        "val_loss_before": round(p.val_before, 5),
        "val_loss_after": round(val_after, 5),
        "lora_params": job.n_lora,
        "precision": job.precision,
        "device": job.fabric.device.type,
        "packing": job.cfg.packing,
    }
    if job.fabric.device.type == "cuda":
        summary["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
    return summary


def save_adapter(job: Run, summary: dict[str, Any], out_dir: Path) -> None:
    """adapter.pth (LoRA weights, fp32), model_config.yaml, prompt_style.yaml and train.json (the summary
    without the hardware figures), swapped in whole."""
    from litgpt.lora import lora_filter
    from litgpt.prompts import save_prompt_style
    from litgpt.utils import save_config

    from doppel.prompt import TwinChat

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    lora_state = {k: v.detach().float().cpu().contiguous() for k, v in job.model.state_dict().items()
                  if lora_filter(k, v)}
    torch.save(lora_state, tmp / "adapter.pth")
    save_config(job.config, tmp)
    save_prompt_style(TwinChat(), tmp)
    deterministic = {k: v for k, v in summary.items() if k not in SPEED_KEYS}
    (tmp / "train.json").write_text(json.dumps(deterministic, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
