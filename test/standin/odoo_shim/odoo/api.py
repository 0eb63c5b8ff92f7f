"""`Environment(cr, uid, context)["ir.module.module"]`: the Apps screen's buttons on the stand-in's tables."""

import json
import logging

import odoo_standin
from odoo.tools import config

_logger = logging.getLogger("odoo.modules.loading")


class Modules:
    """A recordset of ir.module.module rows: (id, name, state)."""

    def __init__(self, cr, rows):
        self.cr = cr
        self.rows = list(rows)

    def __iter__(self):
        return (Module(self.cr, row) for row in self.rows)

    def __bool__(self):
        return bool(self.rows)

    def __sub__(self, other):
        ids = {row[0] for row in other.rows}
        return Modules(self.cr, [row for row in self.rows if row[0] not in ids])

    def mapped(self, field):
        return [getattr(module, field) for module in self]

    def filtered(self, keep):
        return Modules(self.cr, [module.row for module in self if keep(module)])

    def search(self, domain):
        (field, operator, names), = domain
        assert (field, operator) == ("name", "in")
        self.cr.execute("SELECT id, name, state FROM ir_module_module WHERE name = ANY(%s)", (list(names),))
        return Modules(self.cr, self.cr.fetchall())

    def update_list(self):
        catalog = odoo_standin.module_catalog(config.options)
        self.cr.execute("SELECT name FROM ir_module_module")
        known = {name for (name,) in self.cr.fetchall()}
        added = 0
        for name, info in catalog.items():
            if name in known:
                continue
            self.cr.execute(
                "INSERT INTO ir_module_module (name, state, shortdesc, summary, author, license, application, "
                "auto_install, category) VALUES (%s, 'uninstalled', %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (name, json.dumps({"en_US": info["name"]}), json.dumps({"en_US": info["summary"]}), info["author"],
                 info["license"], info["application"], info["auto_install"], info["category"]))
            (module_id,), = self.cr.fetchall()
            for dep in info["depends"]:
                self.cr.execute("INSERT INTO ir_module_module_dependency (module_id, name) VALUES (%s, %s)",
                                (module_id, dep))
            added += 1
        return 0, added

    def button_immediate_uninstall(self):
        # The modules and every installed module depending on them, as Odoo's downstream_dependencies.
        names = set(self.mapped("name"))
        while True:
            self.cr.execute(
                "SELECT m.name FROM ir_module_module m JOIN ir_module_module_dependency d ON d.module_id = m.id "
                "WHERE d.name = ANY(%s) AND m.state = 'installed'", (list(names),))
            more = {name for (name,) in self.cr.fetchall()} - names
            if not more:
                break
            names |= more
        for name in sorted(names):
            _logger.info("module %s: uninstalling", name)
        self.cr.execute("UPDATE ir_module_module SET state = 'uninstalled', latest_version = NULL WHERE name = ANY(%s)",
                        (sorted(names),))


class Module:
    def __init__(self, cr, row):
        self.cr = cr
        self.row = row
        self.id, self.name, self.state = row


class Environment:
    def __init__(self, cr, uid, context):
        self.cr = cr

    def __getitem__(self, model):
        assert model == "ir.module.module", model
        return Modules(self.cr, [])
