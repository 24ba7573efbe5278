# Shared helpers for scripts/run and scripts/test. Source it; don't run it.
#
# After sourcing, the working directory is the repository root and
# ensure_venv has not run yet: call it.

MTC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$MTC_ROOT"

VENV="$MTC_ROOT/.venv"
VENV_PY="$VENV/bin/python"

# Colours only on a terminal.
if [[ -t 1 ]]; then _B=$'\e[1m'; _Y=$'\e[33m'; _R=$'\e[31m'; _N=$'\e[0m'; else _B=; _Y=; _R=; _N=; fi

header() { printf '\n%s==> %s%s\n' "$_B" "$*" "$_N"; }
info()   { printf '    %s\n' "$*"; }
warn()   { printf '%sWARNING:%s %s\n' "$_Y" "$_N" "$*" >&2; }
die()    { printf '%sERROR:%s %s\n' "$_R" "$_N" "$*" >&2; exit 1; }

# A database URL with its password replaced by ***, for printing.
mask_url() { sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$1"; }

# ensure_venv LOCK: create .venv with Python 3.11 if it is missing or broken, and
# install the lock file LOCK (requirements.txt: what production runs;
# requirements-dev.txt: that plus the test and lint tools) unless the last install
# in .venv was exactly this file: .venv/.installed-lock records the lock's name,
# its sha256 and the Python version after a successful install. Switching between
# the two locks costs a pip run that finds everything installed (about a second).
ensure_venv() {
    local lock="${1:?ensure_venv needs a lock file: requirements.txt or requirements-dev.txt}"
    local python="${PYTHON:-python3.11}"
    [[ -f "$lock" ]] || die "$lock not found in $MTC_ROOT"
    if ! "$VENV_PY" -c 'import sys' >/dev/null 2>&1; then
        command -v "$python" >/dev/null 2>&1 \
            || die "$python not found: install Python 3.11 or set PYTHON=/path/to/python3.11"
        info "creating .venv with $("$python" --version 2>&1)"
        "$python" -m venv --clear "$VENV"
    fi

    local stamp="$VENV/.installed-lock" want
    want="$lock $(sha256sum "$lock" | cut -d' ' -f1) $("$VENV_PY" -c 'import sys; print(sys.version.split()[0])')"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        info ".venv is up to date with $lock"
        return 0
    fi

    # Two scripts started at once must not run pip in the same venv together.
    exec 9>"$VENV/.install.lock"
    command -v flock >/dev/null 2>&1 && flock 9
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        exec 9>&-
        return 0
    fi
    info "installing $lock into .venv (first run, or another or a changed lock file)"
    rm -f "$stamp"
    # The lock pins every package with its sha256: pip refuses any file whose hash
    # is not listed, whichever index or wheel directory served it.
    "$VENV_PY" -m pip install --disable-pip-version-check -qq --require-hashes -r "$lock"
    printf '%s\n' "$want" >"$stamp"
    exec 9>&-
    info "done"
}
