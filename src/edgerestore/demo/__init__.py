"""``edgerestore demo``: the whole job on bundled inputs, from shipped weights to a report.

:mod:`~edgerestore.demo.pipeline` runs the stages (export, restore, bench) and
:mod:`~edgerestore.demo.report` writes ``report.json`` / ``report.html``. The restore
stage itself is :mod:`edgerestore.runtime.demo_restore`: it lives in the runtime, under
the runtime's no-torch contract, because it runs in a child process where torch cannot
be imported, which is what shows that the exported files are all a device needs.
"""
