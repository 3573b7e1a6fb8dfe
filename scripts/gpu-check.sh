#!/usr/bin/env bash
# Manual check of local GPU scheduling on a machine with an NVIDIA GPU and PyTorch (CI has no GPU;
# tests/runner/test_gpus.py covers the same with a simulated list). Three steps tagged
# limit:nvidia.com/gpu:1 and one plain step run with real kernels; each GPU step must see one GPU
# (torch does a matmul on it), the plain step none, and on a one-GPU machine the GPU steps run one
# at a time. A step asking for more GPUs than the machine has must be refused (exit 2).
# Without jupyter-kf installed, wheels in .whl/ are installed into /tmp/site first.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD:$PWD/converter${PYTHONPATH:+:$PYTHONPATH}"
export JUPYTER_KF_REGISTRY=/tmp/kf-stores.json JUPYTER_DATA_DIR=/tmp/jdata
nvidia-smi --query-gpu=index,name --format=csv,noheader || echo "no nvidia-smi"
W=/tmp/gpuwork; rm -rf $W; mkdir -p $W
python3 - "$W" <<'PY'
import json, sys
import nbformat
w = sys.argv[1]
rec = """t0 = time.time()
import torch
def probe():
    if not torch.cuda.is_available():
        return False, 0, None
    m = torch.randn(4096, 4096, device='cuda')
    (m @ m).sum().item()
    return True, torch.cuda.device_count(), torch.cuda.get_device_name(0)
ok, count, gpu_name = probe()
time.sleep(SLEEP)
with open('seen-STEP.json', 'w') as f:
    json.dump({'visible': os.environ.get('CUDA_VISIBLE_DEVICES'), 'cuda': ok, 'count': count, 'name': gpu_name, 'start': t0, 'end': time.time()}, f)
"""
nb = nbformat.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
def cell(src, tags):
    c = nbformat.v4.new_code_cell(src); c.metadata["tags"] = tags; nb.cells.append(c)
cell("import json, os, time", ["imports"])
for s in ("g1", "g2", "g3"):
    cell(rec.replace("STEP", s).replace("SLEEP", "1.0"), [f"step:{s}", "limit:nvidia.com/gpu:1"])
cell(rec.replace("STEP", "cpu").replace("SLEEP", "0"), ["step:cpu"])
nbformat.write(nb, f"{w}/gpu.ipynb")
cell2 = nbformat.v4.new_notebook(); cell2.metadata = nb.metadata
c = nbformat.v4.new_code_cell("x = 1"); c.metadata["tags"] = ["step:big", "limit:nvidia.com/gpu:2"]; cell2.cells.append(c)
nbformat.write(cell2, f"{w}/two.ipynb")
PY
KF="python3 -c 'import sys; from jupyter_kf.cli import main; sys.exit(main())'"
cd $W
eval "$KF run gpu.ipynb" 2>&1 | tee $OUT/run.log; echo "run rc=${PIPESTATUS[0]}"
for s in g1 g2 g3 cpu; do f=$(ls kf-runs/*/work/seen-$s.json 2>/dev/null | head -1); echo "$s: $(cat $f 2>/dev/null)"; done | tee $OUT/seen.txt
eval "$KF run two.ipynb"; echo "two-gpu step on this machine: rc=$? (2 expected on a 1-GPU machine)"
python3 - <<'PY' | tee -a $OUT/seen.txt
import glob, json
r = {p.split('seen-')[1][:-5]: json.load(open(p)) for p in glob.glob('kf-runs/*/work/seen-*.json')}
g = [r[s] for s in ('g1', 'g2', 'g3') if s in r]
ok = len(g) == 3 and all(x['cuda'] and x['count'] == 1 for x in g) and not r['cpu']['cuda']
iv = sorted((x['start'], x['end']) for x in g)
serial = all(iv[i][1] <= iv[i + 1][0] + 0.05 for i in range(len(iv) - 1))
print('GPU steps saw one GPU each, the plain step none:', ok, '| on one GPU they ran one at a time:', serial)
PY
