"""Command groups of the ``sessiond`` CLI, one module per group; ``daemon/cli.py`` builds the
app and registers them.

- ``group``    the root command class: every error a user can cause ends as one line on stderr
               (usage errors exit 2, ``SessiondError`` exits 1), never a traceback
- ``results``  ``runs list|show``, ``indicators``, ``flow``, ``report``: what a run stored
- ``demo``     ``demo vn-live``: a recorded Vietnamese day through the live path, no credentials
- ``scaffold`` ``plugins new``: a third-party plugin package that passes the conformance kit

A new group is a module here exposing a ``typer.Typer`` (or command functions) that
``daemon/cli.py`` adds with ``app.add_typer`` / ``app.command``. Command functions stay thin:
they parse arguments, call into ``core``, ``plugins`` and ``daemon``, and raise
``core.errors.SessiondError`` (or call ``daemon.cli.fail``) for user errors.
"""
