"""`odoo.tools.config`: odoo.conf and the command line, read by the stand-in's own parser."""

import odoo_standin


class Config:
    def __init__(self):
        self.options = dict(odoo_standin.DEFAULTS)

    def parse_config(self, args=None):
        self.options, _warnings = odoo_standin.parse_args(list(args or []))
        odoo_standin.setup_logging(None)

    def __getitem__(self, key):
        return self.options.get(key)


config = Config()
