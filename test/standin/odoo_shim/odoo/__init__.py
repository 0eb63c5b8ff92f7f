"""Marina's Odoo STAND-IN shim: NOT Odoo.

Just enough of the `odoo` package for the fixed program Marina runs with `python3 -c` to
uninstall modules and update the apps list (src/odoo/modules.ts MODULE_SCRIPT), backed by the
stand-in's own tables. The real behaviour is checked on real Odoo (test/odoo/module-commands).
"""

import sys

sys.path.insert(0, "/usr/local/lib/marina")

SUPERUSER_ID = 1
