#!/usr/bin/env python3
"""The engine benchmark's network in PyTorch, for a same-machine comparison.

The IGD local-model networks exactly as lib/model/nets.c builds them (encoder -> decoder ->
critic, residual blocks, batch norm in the auto-encoder, layer norm in the critic), at batch 64 on
32x32x3 inputs: forward (inference) and training (forward, backward, Adam) throughput. Prints one
JSON object per width, with the same fields as bench-engine.

    /usr/bin/python3 bench/torch_reference.py [--width 32,64] [--seconds 10] [--threads 2]
"""
import argparse
import json
import resource
import time

import torch
from torch import nn


class Down(nn.Module):
    def __init__(self, cin, cout, size, layer_norm):
        super().__init__()

        def norm(c, s):
            return nn.LayerNorm([c, s, s]) if layer_norm else nn.BatchNorm2d(c)

        self.n1, self.c1 = norm(cin, size), nn.Conv2d(cin, cin, 3, padding=1)
        self.n2, self.c2 = norm(cin, size), nn.Conv2d(cin, cout, 3, padding=1)
        self.short = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        m = self.c1(torch.relu(self.n1(x)))
        m = nn.functional.avg_pool2d(self.c2(torch.relu(self.n2(m))), 2)
        return m + self.short(nn.functional.avg_pool2d(x, 2))


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.n1, self.c1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.n2, self.c2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.short = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        up = nn.functional.interpolate
        m = self.c1(up(torch.relu(self.n1(x)), scale_factor=2, mode="nearest"))
        m = self.c2(torch.relu(self.n2(m)))
        return m + self.short(up(x, scale_factor=2, mode="nearest"))


def trunk(channels, size, width, depth, layer_norm):
    layers, w, s = [nn.Conv2d(channels, width, 3, padding=1)], width, size
    for _ in range(depth):
        layers.append(Down(w, 2 * w, s, layer_norm))
        w, s = 2 * w, s // 2
    return layers, w, s


def networks(channels, size, width, depth=3, latent=128, hidden=512):
    layers, w, s = trunk(channels, size, width, depth, False)
    encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(w * s * s, hidden),
                            nn.Linear(hidden, latent))
    dec = [nn.Linear(latent, w * s * s), nn.Unflatten(1, (w, s, s))]
    for _ in range(depth):
        dec.append(Up(w, w // 2))
        w //= 2
    dec += [nn.BatchNorm2d(w), nn.ReLU(), nn.Conv2d(w, channels, 3, padding=1)]
    decoder = nn.Sequential(*dec)
    layers, w, s = trunk(channels, size, width, depth, True)
    critic = nn.Sequential(*layers, nn.Flatten(), nn.Linear(w * s * s, 1), nn.Sigmoid())
    return encoder, decoder, critic


def timed(fn, seconds):
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            return elapsed / n, n


def conv_macs(side, cin, cout, k):
    return side * side * cin * cout * k * k


def macs(channels, size, width, depth=3, latent=128, hidden=512):
    """The same operation count as lib/model/nets.c's mdl_*_macs."""
    def trunk_macs():
        side, w = size, width
        m = conv_macs(side, channels, w, 3)
        for _ in range(depth):
            m += conv_macs(side, w, w, 3) + conv_macs(side, w, 2 * w, 3) + \
                conv_macs(side / 2, w, 2 * w, 1)
            w, side = 2 * w, side / 2
        return m
    flat = (size >> depth) ** 2 * (width << depth)
    enc = trunk_macs() + flat * hidden + hidden * latent
    side, w = size >> depth, width << depth
    dec = latent * flat
    for _ in range(depth):
        dec += conv_macs(2 * side, w, w / 2, 3) + conv_macs(2 * side, w / 2, w / 2, 3) + \
            conv_macs(2 * side, w, w / 2, 1)
        w, side = w / 2, side * 2
    dec += conv_macs(size, width, channels, 3)
    return enc + dec + trunk_macs() + flat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", default="32,64")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for width in [int(w) for w in args.width.split(",")]:
        enc, dec, cri = networks(args.channels, args.size, width)
        params = list(enc.parameters()) + list(dec.parameters()) + list(cri.parameters())
        opt = torch.optim.Adam(params, lr=1e-4, weight_decay=1e-6)
        x = torch.rand(args.batch, args.channels, args.size, args.size)

        def forward():
            with torch.no_grad():
                cri(dec(enc(x)))

        def train():
            opt.zero_grad()
            (0.01 * cri(dec(enc(x))).sum()).backward()
            opt.step()

        for m in (enc, dec, cri):
            m.eval()
        t_fwd, n_fwd = timed(forward, args.seconds)
        for m in (enc, dec, cri):
            m.train()
        t_train, n_train = timed(train, args.seconds)
        fwd_flops = 2 * macs(args.channels, args.size, width) * args.batch
        first = 2.0 * args.size * args.size * args.channels * width * 9 * args.batch
        train_flops = 3 * fwd_flops - first
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({
            "width": width, "batch": args.batch, "size": args.size, "channels": args.channels,
            "forward_images_per_s": round(args.batch / t_fwd, 1),
            "forward_gflops": round(fwd_flops / t_fwd / 1e9, 1),
            "train_images_per_s": round(args.batch / t_train, 1),
            "train_gflops": round(train_flops / t_train / 1e9, 1),
            "peak_rss_mib": round(rss), "forward_iters": n_fwd, "train_iters": n_train}),
            flush=True)


if __name__ == "__main__":
    main()
