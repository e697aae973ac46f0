#!/usr/bin/env python3
"""Installs tinyq's headers for `meson install` (run by meson, not by hand).

    install_headers.py SOURCE_ROOT INCLUDE_DIR MODULE...

Copies every .hpp below SOURCE_ROOT/MODULE to INCLUDE_DIR, keeping its path
("core/io/json_value.hpp" -> INCLUDE_DIR/core/io/json_value.hpp), so code
outside the tree includes tinyq's headers as tinyq's own code does.

Why a script instead of a list in meson.build: the headers are found when
installing, so a header added to a module is installed with no edit anywhere
(tests/test_consumer.sh checks the installed set against the source tree).
Honours DESTDIR, as meson sets it, and meson's --dry-run and --quiet.
"""
import os
import shutil
import sys


def headers(source_root, modules):
    """Paths relative to source_root of every .hpp in the given module folders."""
    found = []
    for module in modules:
        for folder, _, names in os.walk(os.path.join(source_root, module)):
            found += [os.path.relpath(os.path.join(folder, name), source_root)
                      for name in names if name.endswith('.hpp')]
    return sorted(found)


def main():
    source_root, include_dir, modules = sys.argv[1], sys.argv[2], sys.argv[3:]
    # DESTDIR stages an install below another root: /usr/local/include
    # becomes $DESTDIR/usr/local/include (meson makes DESTDIR absolute).
    destdir = os.environ.get('DESTDIR', '')
    if destdir:
        include_dir = os.path.join(destdir, os.path.relpath(include_dir, os.path.abspath(os.sep)))
    found = headers(source_root, modules)
    quiet = os.environ.get('MESON_INSTALL_QUIET')
    if os.environ.get('MESON_INSTALL_DRY_RUN'):
        quiet = True
    else:
        for header in found:
            target = os.path.join(include_dir, header)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(os.path.join(source_root, header), target)
            os.chmod(target, 0o644)
    if not quiet:
        print(f'Installing {len(found)} headers of {", ".join(modules)} to {include_dir}')


if __name__ == '__main__':
    main()
