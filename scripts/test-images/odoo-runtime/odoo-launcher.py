"""Run odoo-bin from a source tree, with its core addons always available.

In the official odoo image every core addon (base, web, ...) lives in the `odoo.addons`
package directory, so an `addons_path` of `/mnt/extra-addons` alone still finds `web`.
In a source tree `web` lives in `<source>/addons`, outside the package. To keep the
official image's behaviour, that directory is put on `odoo.addons.__path__` before
odoo-bin starts; `addons_path` from the config or the command line is added by Odoo
as usual. Usage: odoo-launcher.py SOURCE_DIR [odoo-bin arguments...]
"""

import os
import runpy
import sys

source = os.path.abspath(sys.argv[1])
odoo_bin = os.path.join(source, "odoo-bin")
sys.argv = [odoo_bin] + sys.argv[2:]
sys.path.insert(0, source)

import odoo.addons  # noqa: E402

core_addons = os.path.join(source, "addons")
if os.path.isdir(core_addons) and core_addons not in odoo.addons.__path__:
    odoo.addons.__path__.append(core_addons)

runpy.run_path(odoo_bin, run_name="__main__")
