"""A tiny CLIP-style dual encoder, for glassgrad's compatibility suite.

Made-up images (a coloured square in one quadrant, plus noise) and captions naming the colour
and the quadrant. The image tower is a conv stem with BatchNorm, a Glow-style invertible 1x1
channel mixing kept as P L U factors (``torch.linalg.lu_factor`` and ``torch.lu_unpack`` of an
orthogonal matrix) and CLIP's attention pooling through ``F.multi_head_attention_forward``; the
text tower is a causal ``nn.MultiheadAttention`` stack with a float32 LayerNorm and QuickGELU,
read at the end-of-text token. A 0-d ``logit_scale`` is learned and clamped, the loss is the
symmetric cross-entropy, AdamW without decay on gains and scalars under cosine annealing.
"""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

COLOURS = ["red", "green", "blue"]
PLACES = ["top left", "top right", "bottom left", "bottom right"]
WORDS = ["<sot>", "a", "square", "in", "the", *COLOURS, "top", "bottom", "left", "right", "<eot>"]
STOI = {w: i + 1 for i, w in enumerate(WORDS)}  # 0 pads

parser = argparse.ArgumentParser(description="tiny CLIP")
parser.add_argument("--width", type=int, default=16)
parser.add_argument("--embed", type=int, default=16)
parser.add_argument("--heads", type=int, default=2)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--batch-size", type=int, default=8)
parser.add_argument("--lr", type=float, default=5e-3)
args = parser.parse_args()

torch.manual_seed(0)
CONTEXT = 9


def caption(colour, place):
    words = ["<sot>", "a", colour, "square", "in", "the", *PLACES[place].split(), "<eot>"]
    ids = [STOI[w] for w in words]
    return ids + [0] * (CONTEXT - len(ids))


def make_batch(n):
    colour = np.random.randint(0, 3, size=n)
    place = np.random.randint(0, 4, size=n)
    images = 0.3 * torch.randn(n, 3, 16, 16)
    for i in range(n):
        r, c = divmod(int(place[i]), 2)
        images[i, colour[i], r * 8 + 2 : r * 8 + 6, c * 8 + 2 : c * 8 + 6] += 2.0
    text = torch.tensor([caption(COLOURS[k], p) for k, p in zip(colour, place)])
    return images, text


class LayerNorm(nn.LayerNorm):
    """CLIP's: computed in float32 whatever the input's dtype."""

    def forward(self, x):
        return super().forward(x.type(torch.float32)).type(x.dtype)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class InvertibleMix(nn.Module):
    """A 1x1 convolution W = P L (U + diag(s)) kept invertible (Glow)."""

    def __init__(self, channels):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels))
        P, L, U = torch.lu_unpack(*torch.linalg.lu_factor(q))
        self.register_buffer("P", P)
        self.L = nn.Parameter(L)
        self.s = nn.Parameter(U.diag())
        self.U = nn.Parameter(torch.triu(U, diagonal=1))
        self.register_buffer("eye", torch.eye(channels))

    def forward(self, x):
        L = torch.tril(self.L, diagonal=-1) + self.eye
        W = self.P @ L @ (torch.triu(self.U, diagonal=1) + torch.diag(self.s))
        return torch.einsum("oc,nchw->nohw", W, x)


class AttentionPool2d(nn.Module):
    def __init__(self, spacial_dim, embed_dim, num_heads, output_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(
            torch.randn(spacial_dim**2 + 1, embed_dim) / embed_dim**0.5
        )
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim)
        self.num_heads = num_heads

    def forward(self, x):
        x = x.flatten(start_dim=2).permute(2, 0, 1)  # NCHW -> (HW)NC
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        x = x + self.positional_embedding[:, None, :].to(x.dtype)
        x, _ = F.multi_head_attention_forward(
            query=x[:1],
            key=x,
            value=x,
            embed_dim_to_check=x.shape[-1],
            num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight,
            k_proj_weight=self.k_proj.weight,
            v_proj_weight=self.v_proj.weight,
            in_proj_weight=None,
            in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None,
            bias_v=None,
            add_zero_attn=False,
            dropout_p=0,
            out_proj_weight=self.c_proj.weight,
            out_proj_bias=self.c_proj.bias,
            use_separate_proj_weight=True,
            training=self.training,
            need_weights=False,
        )
        return x.squeeze(0)


class ImageTower(nn.Module):
    def __init__(self, width, out):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.AvgPool2d(4),
        )
        self.mix = InvertibleMix(width)
        self.pool = AttentionPool2d(4, width, args.heads, out)

    def forward(self, x):
        return self.pool(self.mix(self.stem(x)))


class Block(nn.Module):
    def __init__(self, width, heads, mask):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, width * 4), QuickGELU(), nn.Linear(width * 4, width)
        )
        self.ln_2 = LayerNorm(width)
        self.attn_mask = mask

    def forward(self, x):
        y = self.ln_1(x)
        mask = self.attn_mask.to(dtype=x.dtype)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class CLIP(nn.Module):
    def __init__(self, width, embed):
        super().__init__()
        self.visual = ImageTower(width, embed)
        mask = torch.empty(CONTEXT, CONTEXT)
        mask.fill_(float("-inf"))
        mask.triu_(1)
        self.blocks = nn.Sequential(*[Block(width, args.heads, mask) for _ in range(2)])
        self.token_embedding = nn.Embedding(len(WORDS) + 1, width)
        self.positional_embedding = nn.Parameter(torch.empty(CONTEXT, width))
        nn.init.normal_(self.positional_embedding, std=0.01)
        self.ln_final = LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, embed))
        nn.init.normal_(self.text_projection, std=width**-0.5)
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.blocks(x.permute(1, 0, 2)).permute(1, 0, 2)  # NLD -> LND -> NLD
        x = self.ln_final(x)
        eot = (text == STOI["<eot>"]).int().argmax(dim=-1)
        return x[torch.arange(x.shape[0]), eot] @ self.text_projection

    def forward(self, image, text):
        image_features = self.visual(image)
        text_features = self.encode_text(text)
        image_features = image_features / image_features.norm(dim=1, keepdim=True)
        text_features = text_features / text_features.norm(dim=1, keepdim=True)
        logits_per_image = self.logit_scale.exp() * image_features @ text_features.t()
        return logits_per_image, logits_per_image.t()


model = CLIP(args.width, args.embed)
decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim < 2 or "embedding" in name else decay).append(p)
optimizer = torch.optim.AdamW(
    [{"params": decay, "weight_decay": 0.2}, {"params": no_decay, "weight_decay": 0.0}],
    lr=args.lr,
    betas=(0.9, 0.98),
    eps=1e-6,
)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)
print(f"parameters: {sum(p.numel() for p in model.parameters())}")

for step in range(args.steps):
    model.train()
    images, text = make_batch(args.batch_size)
    logits_per_image, logits_per_text = model(images, text)
    labels = torch.arange(args.batch_size)
    loss = (
        F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)
    ) / 2
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))
    print(f"step {step} loss {loss.item():.6f} scale {model.logit_scale.exp().item():.4f}")

model.eval()
with torch.no_grad():
    images, _ = make_batch(6)
    prompts = torch.tensor([caption(c, p) for c in COLOURS for p in range(4)])
    probs = model(images, prompts)[0].softmax(dim=-1)
    best = probs.argmax(dim=-1)
print("zero-shot:", [f"{COLOURS[i // 4]} {PLACES[i % 4]}" for i in best.tolist()])
print(f"top prob loss {probs.max(dim=-1).values.mean().item():.5f}")
