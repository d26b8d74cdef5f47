"""Trains the tiny reasoning model on tasks.py problems, on CPU, resumably.

    python3 train.py --out runs/tiny --steps 8000 --stop-at 4100

Checkpoints (model, optimizer, step) go to OUT/ckpt.pt every --ckpt-every steps; rerunning the same
command resumes from there. Each step's problems come from Random(seed * 1_000_003 + step), so a
resumed run sees exactly the batches an uninterrupted one would. OUT/train_log.jsonl gets one line per
--log-every steps (loss, learning rate, elapsed seconds) and the held-out accuracy every --eval-every
steps. Accuracy here is teacher-forced sequence accuracy on the response: every response token is the
argmax given the correct prefix, which is exactly "greedy decoding reproduces the trace".
"""

import argparse
import json
import math
import os
import random
import time

import torch
import torch.nn.functional as F

import tasks
from model import BOS, EOS, Config, TinyLlama, encode_text


def encode_example(question: str, response: str):
    """[BOS] <|user|> prompt <|assistant|> response [EOS], and the index where the response starts."""
    prompt = [BOS] + encode_text(tasks.chat_text(question))
    return prompt + encode_text(response) + [EOS], len(prompt)


def make_batch(problems):
    seqs = [encode_example(p.question, p.response) for p in problems]
    n = max(len(s) for s, _ in seqs)
    ids = torch.full((len(seqs), n), EOS, dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.bool)  # True where the target is a response token
    for i, (s, start) in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, start - 1 : len(s) - 1] = True
    return ids, mask


def loss_and_accuracy(model, ids, mask):
    logits = model(ids[:, :-1])
    targets, m = ids[:, 1:], mask[:, :-1]
    loss = F.cross_entropy(logits[m], targets[m])
    right = (logits.argmax(-1) == targets) | ~m
    return loss, right.all(dim=1).float().mean().item()


def lr_at(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=8000, help="length of the schedule (curriculum, learning rate)")
    ap.add_argument("--stop-at", type=int, default=0,
                    help="stop after this step (0 = --steps); the schedule still spans --steps")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--test-seed", type=int, default=20261129)
    ap.add_argument("--test-count", type=int, default=300)
    ap.add_argument("--min-facts", type=int, default=5)
    ap.add_argument("--max-facts", type=int, default=8)
    ap.add_argument("--max-lookups", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--list-fraction", type=float, default=0.4,
                    help="share of auxiliary list-recall problems in each batch")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=352)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    cfg = Config(hidden_size=args.hidden, num_hidden_layers=args.layers, intermediate_size=args.ffn)
    torch.manual_seed(args.seed)
    model = TinyLlama(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    step, elapsed = 0, 0.0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        print(f"resumed at step {step}")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params {n_params} config {cfg.to_dict()}")

    test = tasks.test_set(args.test_seed, args.test_count, args.min_facts, args.max_facts, args.max_lookups)
    test_questions = {p.question for p in test}
    test_ids, test_mask = make_batch(test)
    log = open(os.path.join(args.out, "train_log.jsonl"), "a")
    t0 = time.time() - elapsed
    last = args.stop_at if 0 < args.stop_at < args.steps else args.steps
    while step < last:
        rng = random.Random(args.seed * 1_000_003 + step)
        progress = step / args.steps
        batch = []
        while len(batch) < args.batch:
            n_facts, n_lookups = tasks.sample_difficulty(rng, progress, args.max_facts, args.max_lookups)
            if rng.random() < args.list_fraction:
                p = tasks.make_list_problem(rng, max(2, n_facts), rng.randint(2, max(2, n_facts)))
            else:
                p = tasks.make_problem(rng, n_facts, n_lookups)
            if p.question not in test_questions:
                batch.append(p)
        ids, mask = make_batch(batch)
        lr = lr_at(step, args.steps, args.lr, args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        loss, acc = loss_and_accuracy(model, ids, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        rec = None
        if step % args.log_every == 0:
            rec = {"step": step, "loss": round(loss.item(), 4), "train_seq_acc": round(acc, 3),
                   "lr": round(lr, 6), "elapsed_s": round(time.time() - t0, 1)}
        if step % args.eval_every == 0 or step == last:
            model.eval()
            with torch.no_grad():
                tl, ta = loss_and_accuracy(model, test_ids, test_mask)
            rec = rec or {"step": step, "elapsed_s": round(time.time() - t0, 1)}
            rec.update({"test_loss": round(tl.item(), 4), "test_seq_acc": round(ta, 3)})
        if rec:
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if step % args.ckpt_every == 0 or step == last:
            tmp = ckpt_path + ".tmp"
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "elapsed": time.time() - t0, "config": cfg.to_dict(), "args": vars(args)}, tmp)
            os.replace(tmp, ckpt_path)


if __name__ == "__main__":
    main()
