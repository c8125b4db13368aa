"""`make gpu-wheels`: the cp312 wheels the lent GPU machine needs for dreamrunner, derived rather than listed by hand.

The GPU machine runs its image's own python3 and packages (tools/gpu_image_packages.txt: names, and versions where a
session saw them); nothing can be installed there from a registry. So everything dreamrunner needs that the image
lacks travels as wheels in .whl/ (the device call carries it). The set is derived here:

1. start from dreamrunner's own dependencies (pyproject.toml [project] dependencies: the user run needs the whole
   CLI, not only SR3AI);
2. a need the image meets is left to the image: its version must satisfy the need where the version is known (else
   this script stops and says which). Where the image's version is unknown, a need with a lower bound from
   dreamrunner or from a shipped package ships that package too (pydantic needs typing-extensions>=4.16: an older
   one in the image would break it);
3. everything else ships, at the version of requirements/base.txt (the locked, tested set), its hash checked, and
   its own needs (Requires-Dist, markers evaluated for CPython 3.12 on x86_64 Linux) go through the same steps;
4. ``UNUSED`` names needs that are never imported on Python 3.12 and are left out, with the reason.

.whl/ then holds exactly that set, one version of each (a stale wheel from an earlier set is removed: two versions of
one package stop the whole install there), and .whl/MANIFEST.txt says why each is there. ``--check-only`` derives the
set and prints it without downloading (the metadata comes from the lock's wheels all the same).
"""

from __future__ import annotations

import argparse
import email.parser
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.version import Version
except ImportError:  # a bare python3: pip carries packaging
    from pip._vendor.packaging.markers import Marker
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "tools" / "gpu_image_packages.txt"
LOCK = ROOT / "requirements" / "base.txt"
# The GPU machine's python3 (KINDS.md): CPython 3.12.3 on x86_64 Linux, glibc new enough for any manylinux tag.
TARGET_ENV = {"python_version": "3.12", "python_full_version": "3.12.3", "implementation_name": "cpython",
              "platform_python_implementation": "CPython", "sys_platform": "linux", "platform_system": "Linux",
              "platform_machine": "x86_64", "os_name": "posix", "extra": ""}
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in range(5, 40)] + ["manylinux1_x86_64", "manylinux2010_x86_64",
                                                                   "manylinux2014_x86_64"]
# Needs that are never imported on Python 3.12, left out rather than shipped with their own needs.
UNUSED = {"importlib-metadata": "diffusers imports it only on Python < 3.8 (diffusers/utils/import_utils.py); on "
                                "3.12 it uses the standard library's importlib.metadata"}
# Versions other than the lock's, for the device call's size limit (its working tree and carried paths: 64 MiB).
OVERRIDES = {"imageio-ffmpeg": ("0.7.0", ["sha256:4e1f36bef7bedd4bc5dc25f60a8345d88f57133fa1e754f09b411ac61b854408"],
                                "the lock's 0.8.1 wheel is 68 MB (a 173 MB ffmpeg), more than a device call carries; "
                                "0.7.0's is 29.5 MB, and pyproject.toml allows any version")}
CARRY_LIMIT_MIB = 56  # of the call's 64 MiB, what the wheels may take: the repository's files travel too


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_image(path: Path = IMAGE) -> dict[str, str | None]:
    """{name: version or None (present, version unknown)}."""
    out: dict[str, str | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            out[canon(name)] = version.strip() or None
    return out


def read_lock(path: Path = LOCK) -> dict[str, tuple[str, list[str]]]:
    """{name: (version, [sha256 hashes])} of requirements/base.txt, the entry whose marker holds on the target."""
    out: dict[str, tuple[str, list[str]]] = {}
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("--hash") else line.strip()
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)\s*(?:;\s*([^-][^\n]*?))?\s*((?:--hash=\S+\s*)*)$", line)
        if not m:
            continue
        name, version, marker, hashes = m.groups()
        if marker and not Marker(marker.strip()).evaluate(TARGET_ENV):
            continue
        out[canon(name)] = (version, re.findall(r"--hash=(sha256:[0-9a-f]+)", hashes or ""))
    return out


def project_needs(path: Path = ROOT / "pyproject.toml") -> list[str]:
    return list(tomllib.loads(path.read_text(encoding="utf-8"))["project"]["dependencies"])


def applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**TARGET_ENV, "extra": e}) for e in (extras or {""}))


def has_lower_bound(req: Requirement) -> bool:
    return any(spec.operator in (">=", ">", "==", "~=", "===") for spec in req.specifier)


def download(pins: dict[str, tuple[str, list[str]]], dest: Path) -> None:
    """pip download the pinned wheels for the target (no dependencies: the walk resolves them), hashes checked."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as reqs:
        for name, (version, hashes) in sorted(pins.items()):
            reqs.write(f"{name}=={version} " + " ".join(f"--hash={h}" for h in hashes) + "\n")
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--require-hashes",
           "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312", "--abi", "abi3", "--abi", "none",
           *[arg for p in PLATFORMS for arg in ("--platform", p)], "-d", str(dest), "-r", reqs.name]
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
    Path(reqs.name).unlink()


def wheel_of(name: str, version: str, folder: Path) -> Path:
    for w in folder.glob("*.whl"):
        n, v = w.name.split("-")[:2]
        if canon(n) == name and Version(v) == Version(version):
            return w
    raise FileNotFoundError(f"no wheel of {name}=={version} in {folder}")


def wheel_needs(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        msg = email.parser.Parser().parsestr(z.read(meta).decode("utf-8"))
    return msg.get_all("Requires-Dist") or []


def derive(dest: Path, image: dict[str, str | None], lock: dict[str, tuple[str, list[str]]],
           needs: list[str]) -> tuple[dict[str, str], dict[str, list[str]], list[str]]:
    """Walk the needs. Returns ({shipped name: version}, {name: why}, [problems]); downloads into ``dest``."""
    ship: dict[str, str] = {}
    why: dict[str, list[str]] = {}
    problems: list[str] = []
    extras: dict[str, set[str]] = {}  # the extras asked of each shipped package (their needs are walked too)
    queue = [(Requirement(r), "dreamrunner", set()) for r in needs]
    while queue:
        level, queue = queue, []
        new: dict[str, tuple[str, list[str]]] = {}
        grown: set[str] = set()  # shipped earlier, now asked for more extras
        for req, by, by_extras in level:
            if not applies(req, by_extras):
                continue
            name = canon(req.name)
            why.setdefault(name, [])
            if name in ship and not req.extras <= extras[name]:
                grown.add(name)
            extras.setdefault(name, set()).update(req.extras)
            need = f"{by} needs {req.name}{req.specifier}" + (f"[{','.join(sorted(req.extras))}]" if req.extras
                                                              else "")
            if name in UNUSED:
                why[name].append(f"{need}: left out, {UNUSED[name]}")
                continue
            if name in image and name not in ship and name not in new:
                known = image[name]
                if known is not None:
                    if not req.specifier.contains(known, prereleases=True):
                        problems.append(f"the image's {name} {known} does not satisfy: {need}")
                    why[name].append(f"{need}: the image has {known}")
                    continue
                if not has_lower_bound(req):
                    why[name].append(f"{need}: the image has it")
                    continue
                why[name].append(f"{need}: the image's version is unknown, so it ships")
            else:
                why[name].append(need)
            if name in ship or name in new:
                version = ship.get(name) or new[name][0]
                if not req.specifier.contains(version, prereleases=True):
                    problems.append(f"{name} {version} (requirements/base.txt) does not satisfy: {need}")
                continue
            if name in OVERRIDES:
                version, hashes, reason = OVERRIDES[name]
                why[name].append(f"{version}, not the lock's: {reason}")
            elif name in lock:
                version, hashes = lock[name]
            else:
                problems.append(f"{name} is needed ({need}) but is not in requirements/base.txt: run `make lock`")
                continue
            if not req.specifier.contains(version, prereleases=True):
                problems.append(f"{name} {version} (requirements/base.txt) does not satisfy: {need}")
            new[name] = (version, hashes)
        if new:
            download(new, dest)
        for name, (version, _) in new.items():
            ship[name] = version
        for name in sorted(set(new) | grown):
            for r in wheel_needs(wheel_of(name, ship[name], dest)):
                queue.append((Requirement(r), f"{name} {ship[name]}", extras[name]))
    return ship, why, problems


def build_image_venv(venv: Path, python: str, image: dict[str, str | None], reached: list[str]) -> None:
    """A venv standing in for the GPU image on a machine without a GPU (`make gpu-rehearsal`): the image's packages
    that dreamrunner's needs reach, at the image's versions where known (torch 2.11.0 from PyPI: its CUDA build, which
    runs on a CPU), and nothing the image lacks: whatever pip brought in beside them (a newer typer needs pydantic,
    which the image lacks) is uninstalled again, so only the wheels can supply it."""
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    with tempfile.TemporaryDirectory() as tmp:
        reqs, cons = Path(tmp) / "image.txt", Path(tmp) / "versions.txt"
        reqs.write_text("".join(f"{n}\n" for n in reached), encoding="utf-8")
        cons.write_text("".join(f"{n}=={v}\n" for n, v in image.items() if v), encoding="utf-8")
        subprocess.run([py, "-m", "pip", "install", "-q", "-r", str(reqs), "-c", str(cons)], check=True,
                       stdin=subprocess.DEVNULL)
    # (run from inside the venv: in the repository, its dreamrunner.egg-info would count as installed)
    listed = subprocess.run([py, "-c", "import importlib.metadata as m; print('\\n'.join(sorted({d.metadata['Name'] "
                             "for d in m.distributions()})))"], check=True, capture_output=True, text=True,
                            cwd=venv).stdout
    extra = [n for n in listed.split() if canon(n) not in image]
    if extra:
        print(f"image venv: removing what the image lacks: {', '.join(extra)}")
        subprocess.run([py, "-m", "pip", "uninstall", "-q", "-y", *extra], check=True, cwd=venv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=ROOT / ".whl")
    parser.add_argument("--image", type=Path, default=IMAGE)
    parser.add_argument("--check-only", action="store_true", help="derive and print the set; .whl/ is not touched")
    parser.add_argument("--image-venv", type=Path, default=None,
                        help="also build this venv standing in for the image (see build_image_venv)")
    parser.add_argument("--python", default="python3.12", help="the interpreter of --image-venv (the image's 3.12)")
    args = parser.parse_args(argv)
    if args.check_only:
        with tempfile.TemporaryDirectory(prefix="gpu-wheels-") as tmp:
            return make_set(args, Path(tmp))
    return make_set(args, args.dest)


def make_set(args, work: Path) -> int:
    image, lock = read_image(args.image), read_lock()
    work.mkdir(parents=True, exist_ok=True)
    ship, why, problems = derive(work, image, lock, project_needs())
    for p in problems:
        print(f"gpu-wheels: {p}", file=sys.stderr)
    if problems:
        print("gpu-wheels: the set is not consistent with the image (above); pick versions that fit in "
              "requirements/base.txt or add the image's version to tools/gpu_image_packages.txt", file=sys.stderr)
        return 1
    keep = {wheel_of(n, v, work).name for n, v in ship.items()}
    for stale in sorted(work.glob("*.whl")):
        if stale.name not in keep:
            stale.unlink()
            print(f"removed {stale.name} (not in the derived set)")
    lines = [f"{n}=={v}  # " + "; ".join(why[n]) for n, v in sorted(ship.items())]
    lines += [f"# {'left out' if n in UNUSED else 'left to the image'}: {n}  # " + "; ".join(why[n])
              for n in sorted(why) if n not in ship]
    total = sum((work / k).stat().st_size for k in keep)
    if total > CARRY_LIMIT_MIB * 2**20:
        print(f"gpu-wheels: the set takes {total / 2**20:.1f} MiB, more than the {CARRY_LIMIT_MIB} MiB a device call "
              "can carry beside the repository; shrink it (OVERRIDES)", file=sys.stderr)
        return 1
    if not args.check_only:
        (work / "MANIFEST.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if args.image_venv and not (args.image_venv / "bin" / "python").exists():
        build_image_venv(args.image_venv, args.python, image, sorted(n for n in why if n in image))
    print("\n".join(lines))
    print(f"{len(ship)} wheels, {total / 2**20:.1f} MiB in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
