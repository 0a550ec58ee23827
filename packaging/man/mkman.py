#!/usr/bin/env python3
"""Turns a man page source (packaging/man/NAME.SECTION.md) into troff.

The source is a small Markdown subset, the one format every man page of
spindle is written in:
  % TITLE SECTION "source" "manual"      the title line (first line)
  # HEADING                              a section
  `--flag ARG`, `-h` (own line)          a tagged paragraph's tag; the lines
  : text (indented continuation)          starting with ": " are its body
  **bold**, *italic*                      inline
  ``` ... ```                             a literal block
  blank line                              a new paragraph

Usage: mkman.py SOURCE.md [OUT]   (OUT defaults to stdout)
"""
import re
import sys


def esc(text):
    """Troff-escapes plain text: backslashes, hyphens (as minus signs, so
    flags copy and search right), and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text[:1] in (".", "'"):
        text = "\\&" + text
    return text


def inline(text):
    out = []
    pos = 0
    for m in re.finditer(r"\*\*(.+?)\*\*|\*(.+?)\*|`(.+?)`", text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + esc(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fI" + esc(m.group(2)) + "\\fR")
        else:
            out.append("\\fB" + esc(m.group(3)) + "\\fR")
        pos = m.end()
    out.append(esc(text[pos:]))
    line = "".join(out)
    if line[:1] in (".", "'"):
        line = "\\&" + line
    return line


def tag(text):
    """`--flag ARG`, `-h` -> bold flags, italic arguments."""
    parts = []
    for code in re.findall(r"`([^`]+)`", text) or [text]:
        words = code.split()
        s = "\\fB" + esc(words[0]) + "\\fR"
        if len(words) > 1:
            s += " \\fI" + esc(" ".join(words[1:])) + "\\fR"
        parts.append(s)
    return ", ".join(parts)


def convert(src):
    lines = src.splitlines()
    m = re.match(r'%\s+(\S+)\s+(\S+)\s+"([^"]*)"\s+"([^"]*)"', lines[0])
    if not m:
        raise SystemExit("the first line must be: % TITLE SECTION \"source\" \"manual\"")
    title, section, source, manual = m.groups()
    # No hyphenation, ragged right: a flag is never split across lines.
    out = [f'.TH "{title}" "{section}" "" "{source}" "{manual}"', ".nh", ".ad l"]
    i = 1
    para = []

    def flush():
        if para:
            out.append(".PP")
            out.append(inline(" ".join(para)))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("# "):
            flush()
            out.append(".SH " + line[2:].strip())
        elif line.startswith("```"):
            flush()
            out.append(".PP")
            out.append(".nf")
            out.append(".RS 4")
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(esc(lines[i]) if lines[i] else "")
                i += 1
            out.append(".RE")
            out.append(".fi")
        elif not line.strip():
            flush()
        elif i + 1 < len(lines) and lines[i + 1].startswith(": "):
            flush()
            out.append(".TP")
            out.append(tag(line) if line.startswith("`") else inline(line))
            body = [lines[i + 1][2:]]
            i += 2
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                body.append(lines[i].strip())
                i += 1
            out.append(inline(" ".join(body)))
            continue
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) not in (2, 3):
        raise SystemExit(__doc__)
    text = convert(open(argv[1], encoding="utf-8").read())
    if len(argv) == 3:
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
