"""Where a scenario comes from: ``examples`` (list the shipped ones, or copy them out) and
``import`` (write one from what ``az`` and ``kubectl`` print: :mod:`services.importer`)."""

from __future__ import annotations

import argparse
import os
import sys

from services.cli.common import EXIT_FAILED, EXIT_INVALID, EXIT_OK


def cmd_examples(args: argparse.Namespace) -> int:
    """List the shipped example scenarios and studies (or copy them into a directory)."""
    import shutil

    from services.examples import examples_dir

    if args.copy:
        for kind in ("scenarios", "studies"):
            source = examples_dir(kind)
            try:
                shutil.copytree(source, os.path.join(args.copy, kind), dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc"))
            except OSError as exc:
                print(f"aks-sim examples: error: cannot copy into {args.copy}: {exc}", file=sys.stderr)
                return EXIT_INVALID
        print(f"copied the examples into {args.copy}/scenarios and {args.copy}/studies", file=sys.stderr)
        return EXIT_OK
    for kind in ("scenarios", "studies"):
        print(f"{kind} ({examples_dir(kind)}):")
        for path in sorted(examples_dir(kind).glob("*.yaml")):
            with open(path, encoding="utf-8") as fh:
                first = next((line.lstrip("# ").strip() for line in fh if line.startswith("#")), "")
            print(f"  {path.stem:<38} {first}")
    print("\nrun one by name: aks-sim run zone-failure", file=sys.stderr)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """``aks-sim import``: write the scenario (and its manifests file), print the warnings, and
    check that the scenario loads."""
    from services.importer import ImportError_, build
    from sim import ScenarioError
    from sim.scenario import load

    stem = os.path.splitext(os.path.basename(args.output))[0] if args.output else "imported"
    manifests_name = f"{stem}-manifests.yaml"
    if args.k8s and not args.output:
        print("aks-sim import: error: --k8s needs -o FILE (the manifests go beside it)",
              file=sys.stderr)
        return EXIT_INVALID
    try:
        result = build(args.aks, args.vnet, args.k8s, manifests_name)
    except ImportError_ as exc:
        for issue in exc.issues:
            print(issue.render(), file=sys.stderr)
        return EXIT_INVALID
    for warning in result.warnings:
        print(warning.render(), file=sys.stderr)
    if not args.output:
        sys.stdout.write(result.scenario)
        return EXIT_OK
    try:
        if result.manifests is not None:
            with open(os.path.join(os.path.dirname(args.output) or ".", manifests_name), "w",
                      encoding="utf-8") as fh:
                fh.write(result.manifests)
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(result.scenario)
    except OSError as exc:
        print(f"aks-sim import: error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    try:
        load(args.output)
    except ScenarioError as exc:
        print(f"{args.output}: written, but it does not load yet:", file=sys.stderr)
        for issue in exc.issues:
            print(issue.render(), file=sys.stderr)
        return EXIT_FAILED
    n = len(result.warnings)
    print(f"{args.output}: written ({n} warning{'s' * (n != 1)}); run it with "
          f"aks-sim run {args.output}", file=sys.stderr)
    return EXIT_OK


def add_examples(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim examples``."""
    examples = sub.add_parser("examples", help="list the example scenarios and studies that ship "
                                                "with aks-sim, or copy them out")
    examples.add_argument("--copy", default=None, metavar="DIR",
                          help="copy every example (scenarios/, studies/) into DIR to edit them")
    examples.set_defaults(func=cmd_examples)


def add_import(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim import``."""
    p = sub.add_parser("import", help="write a scenario from az aks show, az network vnet show "
                                      "and kubectl get -o yaml output")
    p.add_argument("--aks", required=True, metavar="FILE",
                   help="az aks show -g RG -n NAME -o json (or an ARM template export)")
    p.add_argument("--vnet", default=None, metavar="FILE",
                   help="az network vnet show -g RG -n VNET -o json (bring-your-own VNet)")
    p.add_argument("--k8s", default=None, metavar="FILE",
                   help="kubectl get deploy,sts,ds,svc,ing,netpol,hpa,pdb -A -o yaml")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="the scenario to write (its manifests go beside it); default: stdout")
    p.set_defaults(func=cmd_import)
