"""Thin command line over tokenfall.api: one module per job; each command parses, calls one api function, prints."""

from __future__ import annotations

import sys

import click
import pydantic

from tokenfall.cli import measure, levers, ledger, market, estimate, search, ttc, route  # isort: skip - the order of --help
from tokenfall.cli.root import cli, err
from tokenfall.errors import ExitCode, Interrupted, RunFailed, TokenfallError, VerdictNotMet

COMMANDS = (measure, levers, ledger, market, estimate, search, ttc, route)  # each module registers its commands on import


_FLAG_OF = {"warmup_requests": "--warmup", "shared_prefix_tokens": "--shared-prefix", "ttft_s": "--slo ttft",
            "tpot_s": "--slo tpot", "e2e_s": "--slo e2e", "probe_concurrency": "--probe", "n": "--n-synth",
            "kv_types": "--kv-types", "threads": "--threads", "concurrency": "--concurrency"}


def _validation_line(e: pydantic.ValidationError, argv: list[str]) -> str:
    """One line for a config that failed validation, naming the flag the user typed when there is one."""
    err_ = e.errors()[0]
    field = next((str(x) for x in reversed(err_["loc"]) if isinstance(x, str)), "")
    flag = _FLAG_OF.get(field, "--" + field.removesuffix("_s").replace("_", "-"))
    command = next((cli.commands[a] for a in argv if a in cli.commands), None)
    known = {o for p in (command.params if command else []) for o in p.opts}
    where = flag if flag.split()[0] in known else ".".join(map(str, err_["loc"]))
    msg = err_["msg"].removeprefix("Value error, ")
    if "finite" in msg:
        msg = "must be a finite number"
    return f"{where} {err_.get('input')!r}: {msg}"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    if not [a for a in argv if a != "--debug"]:
        click.echo(cli.get_help(click.Context(cli, info_name="tokenfall")))
        sys.exit(ExitCode.OK)
    try:
        cli.main(args=argv, prog_name="tokenfall", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as e:
        if debug:
            raise
        msg = e.format_message().replace("\n", " ")
        err.print(f"error: {msg} (see tokenfall --help)", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except (TokenfallError, Interrupted, RunFailed, VerdictNotMet) as e:
        if debug:
            raise
        prefix = {TokenfallError: "error: ", RunFailed: "failed: ", VerdictNotMet: "verdict: "}
        err.print(next((v for k, v in prefix.items() if isinstance(e, k)), "") + str(e), markup=False, highlight=False,
                  soft_wrap=True)
        sys.exit(e.exit_code)
    except pydantic.ValidationError as e:
        if debug:
            raise
        err.print(f"error: {_validation_line(e, argv)}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as e:  # noqa: BLE001 - a bug or a library failure: one line, the traceback behind --debug
        if debug:
            raise
        err.print(f"failed: {type(e).__name__}: {e} (rerun with --debug for the traceback)", markup=False, highlight=False,
                  soft_wrap=True)
        sys.exit(ExitCode.RUNTIME)
