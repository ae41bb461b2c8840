#!/usr/bin/env python3
"""Renders quanta's man page, quanta(1), from the command-line tool's own description.

usage: quanta --experimental-dump-help | make-manpage.py > quanta.1

swift-argument-parser describes every command, option, default and help text as JSON
(`--experimental-dump-help`, serialization version 0); this turns that into roff, so the page
is always the --help text of the binary it documents. (The library's generate-manual plugin does
the same, but it builds a second debug copy of the tool: minutes on a 2-core machine for one page.)
"""
import datetime
import json
import sys


def roff(text):
    """Text safe for roff: backslashes doubled, a leading '.' or "'" escaped."""
    text = (text or "").replace("\\", "\\e")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def flag_names(argument):
    names = []
    for name in argument.get("names", []):
        prefix = "--" if name["kind"] == "long" else "-"
        names.append(prefix + name["name"])
    return names


def argument_entry(argument):
    """One .TP entry: names (and value) on the tag line, the help below."""
    kind = argument["kind"]
    value = argument.get("valueName", "")
    if kind == "positional":
        tag = f"\\fI{roff(value)}\\fR"
    else:
        names = ", ".join(f"\\fB{roff(n)}\\fR" for n in flag_names(argument))
        tag = names + (f" \\fI{roff(value)}\\fR" if kind == "option" else "")
    text = argument.get("abstract", "")
    extras = []
    if argument.get("defaultValue") not in (None, ""):
        extras.append(f"default: {argument['defaultValue']}")
    if argument.get("allValues"):
        extras.append("values: " + ", ".join(argument["allValues"]))
    if extras:
        text = (text + " " if text else "") + "(" + "; ".join(extras) + ")"
    return f".TP\n{tag}\n{roff(text)}\n"


def command_section(command, path):
    out = []
    title = " ".join(path)
    out.append(f'.SH "{roff(title.upper())}"\n')
    if command.get("abstract"):
        out.append(roff(command["abstract"]) + "\n")
    if command.get("discussion"):
        out.append(".PP\n.nf\n" + roff(command["discussion"]) + "\n.fi\n")
    arguments = [a for a in command.get("arguments", []) if a.get("shouldDisplay", True)]
    if arguments:
        out.append(".PP\n.B Arguments and options\n")
        out.extend(argument_entry(a) for a in arguments)
    for sub in command.get("subcommands", []):
        if sub.get("shouldDisplay", True) and sub["commandName"] != "help":
            out.extend(command_section(sub, path + [sub["commandName"]]))
    return out


def main():
    tool = json.load(sys.stdin)
    command = tool["command"]
    name = command["commandName"]
    date = datetime.date.today().isoformat()
    subcommands = [s["commandName"] for s in command.get("subcommands", []) if s["commandName"] != "help"]
    page = [
        f'.TH "{name.upper()}" "1" "{date}" "{name}" "User Commands"\n',
        ".SH NAME\n",
        f"{name} \\- {roff(command.get('abstract', ''))}\n",
        ".SH SYNOPSIS\n",
        f"\\fB{name}\\fR \\fIsubcommand\\fR [\\fIoptions\\fR]\n",
        ".PP\nSubcommands: " + ", ".join(f"\\fB{s}\\fR" for s in subcommands) + ".\n",
        f".PP\n\\fB{name} \\fIsubcommand\\fB --help\\fR prints a subcommand's options; "
        f"\\fB{name} --version\\fR the version and commit.\n",
    ]
    for sub in command.get("subcommands", []):
        if sub.get("shouldDisplay", True) and sub["commandName"] != "help":
            page.extend(command_section(sub, [name, sub["commandName"]]))
    sys.stdout.write("".join(page))


if __name__ == "__main__":
    main()
