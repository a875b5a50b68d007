"""Shell completion for ``aks-sim``, generated from its argparse parser.

``eval "$(aks-sim completion bash)"`` (or ``zsh``, through bashcompinit) completes the
subcommands, each one's flags, the choices of a flag that has them, and file names elsewhere.
"""

from __future__ import annotations

import argparse
import shlex


def _words(parser: argparse.ArgumentParser) -> tuple[list[str], dict[str, list[str]]]:
    """(the flags of *parser*, flag -> its choices)."""
    flags: list[str] = []
    choices: dict[str, list[str]] = {}
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of its actions
        flags += [o for o in action.option_strings if o.startswith("--") or len(o) == 2]
        if action.option_strings and action.choices:
            for o in action.option_strings:
                choices[o] = [str(c) for c in action.choices]
    return flags, choices


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for *shell* (``bash`` or ``zsh``)."""
    subs = _subparsers(parser)
    top_flags, _ = _words(parser)
    cases = []
    for name, sub in sorted(subs.items()):
        flags, choices = _words(sub)
        positional = [a for a in sub._actions if not a.option_strings and a.choices]  # noqa: SLF001
        values = " ".join(str(c) for a in positional for c in a.choices)
        prev_cases = "".join(f"            {shlex.quote(flag)}) COMPREPLY=($(compgen -W "
                             f"{shlex.quote(' '.join(words))} -- \"$cur\")); return;;\n"
                             for flag, words in sorted(choices.items()))
        cases.append(f"        {name})\n"
                     f"          case \"$prev\" in\n{prev_cases}          esac\n"
                     f"          if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W "
                     f"{shlex.quote(' '.join(flags))} -- \"$cur\"))\n"
                     f"          else COMPREPLY=($(compgen -W {shlex.quote(values)} -- \"$cur\") "
                     f"$(compgen -f -- \"$cur\")); fi;;\n")
    body = (
        "_aks_sim() {\n"
        "    local cur prev cmd i\n"
        "    cur=\"${COMP_WORDS[COMP_CWORD]}\"; prev=\"${COMP_WORDS[COMP_CWORD-1]}\"; cmd=\"\"\n"
        "    for ((i=1; i<COMP_CWORD; i++)); do\n"
        "        [[ \"${COMP_WORDS[i]}\" != -* ]] && { cmd=\"${COMP_WORDS[i]}\"; break; }\n"
        "    done\n"
        "    if [[ -z \"$cmd\" ]]; then\n"
        f"        COMPREPLY=($(compgen -W {shlex.quote(' '.join(sorted(subs) + top_flags))} "
        "-- \"$cur\")); return\n"
        "    fi\n"
        "    case \"$cmd\" in\n" + "".join(cases) + "    esac\n"
        "}\n"
        "complete -o filenames -F _aks_sim aks-sim\n")
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + body
    return body
