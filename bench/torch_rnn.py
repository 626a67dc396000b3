"""The PyTorch baseline for `npm run bench`: the same model (Embedding V x 200, nn.RNN 200,
tanh, full softmax Linear 200 -> V), B=20, T=35, SGD + clip 0.25, on synthetic ids, timed the
same way (median step after a warm-up) plus exact single-stream evaluation (B=1).
Run with Debian's python3-torch and OpenBLAS; the caller sets OMP_WAIT_POLICY=PASSIVE and
OPENBLAS_NUM_THREADS=2. Prints one JSON line."""
import json, resource, sys, time
import torch
import torch.nn as nn

V, E, H, B, T = 10000, 200, 200, 20, 35
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
eval_tokens = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "2")))
torch.manual_seed(1)

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(V, E)
        self.rnn = nn.RNN(E, H, nonlinearity='tanh')
        self.decoder = nn.Linear(H, V)
    def forward(self, x, h):
        out, h = self.rnn(self.encoder(x), h)
        return self.decoder(out.view(-1, H)), h

model = Model()
crit = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
x = torch.randint(0, V, (T, B))
y = torch.randint(0, V, (T * B,))
h = torch.zeros(1, B, H)

def step():
    global h
    h = h.detach()
    opt.zero_grad()
    logits, h = model(x, h)
    loss = crit(logits, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
    opt.step()

step()
times = []
for _ in range(steps):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
times.sort()
med = times[len(times) // 2]

ids = torch.randint(0, V, (eval_tokens,))
def evaluate(ids):
    with torch.no_grad():
        h = torch.zeros(1, 1, H)
        nll = 0.0
        inp = torch.cat([torch.zeros(1, dtype=torch.long), ids[:-1]])
        for s in range(0, len(ids), 256):
            logits, h = model(inp[s:s + 256].view(-1, 1), h)
            nll += nn.functional.cross_entropy(logits.double(), ids[s:s + 256], reduction='sum').item()
        return nll
evaluate(ids[:512])
t0 = time.perf_counter(); evaluate(ids); ev = time.perf_counter() - t0
print(json.dumps({
    'backend': f'pytorch {torch.__version__} ({torch.get_num_threads()} threads)', 'cell': 'tanh',
    'train_tokens_per_s': B * T / med, 'step_ms_median': med * 1000, 'steps': steps,
    'eval_tokens_per_s': eval_tokens / ev, 'eval_tokens': eval_tokens,
    'max_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
