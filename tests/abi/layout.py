#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Decide whether the ABI changes between two abidw dumps are compatible.

    tests/abi/layout.py BASELINE.abi CURRENT.abi

abidiff reports an appended struct member as a plain "ABI change", the same
as a moved or retyped one. vdm's rule (DESIGN.md "Stable C ABI") is more
precise, and this script applies it to the two ABIXML files:

- every function of the baseline still exists, with the same return and
  parameter types (compared by name: struct contents are checked below);
- every struct of the baseline still exists. A caller-filled struct (its
  first member is `uint32_t size`) may grow at the end: the baseline's
  members must be an unchanged prefix (name, offset, type) of the current
  ones. Any other struct must keep exactly its members and its size (opaque
  objects: VDM_*_SIZE; structs used in arrays or embedded by value);
- function pointer members are compared by their full signature;
- a renamed member is reported too: binary compatible, but it breaks the
  source of every caller that names it (semantic versioning covers the API).

Prints each violation and exits 1. Exits 0 when every change is allowed,
listing the additions.
"""
import sys
import xml.etree.ElementTree as ET


class Corpus:
    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.types = {}
        self.structs = {}
        self.functions = {}
        for el in root.iter():
            tid = el.get("id")
            if tid is not None and el.tag != "elf-symbol":
                self.types.setdefault(tid, el)
        for el in root.iter("class-decl"):
            name = el.get("name")
            if el.get("is-declaration-only") == "yes" or not name:
                continue
            members = []
            for dm in el.findall("data-member"):
                var = dm.find("var-decl")
                members.append((var.get("name"),
                                int(dm.get("layout-offset-in-bits", "0")),
                                self.name(var.get("type-id"))))
            self.structs.setdefault(name, (int(el.get("size-in-bits", "0")),
                                           members))
        for el in root.iter("function-decl"):
            sym = el.get("elf-symbol-id")
            if sym is None:
                continue
            self.functions[sym.split("@")[0]] = self.signature(el)

    def signature(self, el):
        params = [self.name(p.get("type-id")) if p.get("is-variadic") != "yes"
                  else "..." for p in el.findall("parameter")]
        ret = el.find("return")
        rt = self.name(ret.get("type-id")) if ret is not None else "void"
        return "%s(%s)" % (rt, ", ".join(params))

    def name(self, tid, depth=0):
        if depth > 40:
            return "?"
        el = self.types.get(tid)
        if el is None:
            return "void" if tid == "void" else "<%s>" % tid
        tag = el.tag
        if tag in ("type-decl", "typedef-decl"):
            return el.get("name")
        if tag == "class-decl":
            return ("struct " if el.get("is-struct") == "yes" else "union ") + \
                (el.get("name") or "<anonymous>")
        if tag == "union-decl":
            return "union " + (el.get("name") or "<anonymous>")
        if tag == "enum-decl":
            return "enum " + (el.get("name") or "<anonymous>")
        if tag == "pointer-type-def":
            return self.name(el.get("type-id"), depth + 1) + "*"
        if tag == "qualified-type-def":
            quals = [q for q in ("const", "volatile", "restrict")
                     if el.get(q) == "yes"]
            return " ".join(quals + [self.name(el.get("type-id"), depth + 1)])
        if tag == "array-type-def":
            dims = "".join("[%s]" % s.get("length", "")
                           for s in el.findall("subrange"))
            return self.name(el.get("type-id"), depth + 1) + dims
        if tag == "function-type":
            return "fn " + self.signature(el)
        return "<%s>" % tag


def member_change(st, m, n):
    if n is not None and (m[1], m[2]) == (n[1], n[2]):
        return ("struct %s: member %s renamed to %s (same place: binary "
                "compatible, but source-incompatible)" % (st, m[0], n[0]))
    return ("struct %s: member %s (offset %d bits, %s) became %s"
            % (st, m[0], m[1], m[2],
               "nothing" if n is None else
               "%s (offset %d bits, %s)" % n))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old, new = Corpus(sys.argv[1]), Corpus(sys.argv[2])
    bad, info = [], []

    for fn, sig in sorted(old.functions.items()):
        if fn not in new.functions:
            bad.append("function %s removed" % fn)
        elif new.functions[fn] != sig:
            bad.append("function %s changed: %s -> %s"
                       % (fn, sig, new.functions[fn]))
    for fn in sorted(set(new.functions) - set(old.functions)):
        info.append("function %s added" % fn)

    for st, (size, members) in sorted(old.structs.items()):
        if st not in new.structs:
            bad.append("struct %s no longer in the ABI" % st)
            continue
        nsize, nmembers = new.structs[st]
        sized = bool(members) and members[0][0] == "size" and \
            members[0][2] == "uint32_t" and members[0][1] == 0
        if sized:
            if nmembers[:len(members)] != members:
                for i, m in enumerate(members):
                    n = nmembers[i] if i < len(nmembers) else None
                    if n != m:
                        bad.append(member_change(st, m, n))
                        break
            elif nsize < size:
                bad.append("struct %s shrank from %d to %d bits"
                           % (st, size, nsize))
            elif len(nmembers) > len(members):
                info.append("struct %s: appended %s" % (
                    st, ", ".join(m[0] for m in nmembers[len(members):])))
        else:
            if nmembers != members or nsize != size:
                what = "size %d -> %d bits" % (size, nsize) if nsize != size \
                    else "members changed"
                bad.append("struct %s (fixed layout, not size-prefixed): %s"
                           % (st, what))
                for m, n in zip(members, nmembers):
                    if m != n:
                        bad.append("  " + member_change(st, m, n))
                        break

    for line in info:
        print("abi: compatible: " + line)
    for line in bad:
        print("abi: INCOMPATIBLE: " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
