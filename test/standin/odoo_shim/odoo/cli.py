"""Imported first by Marina's module program (Odoo 19 sets itself up there); nothing to do here."""
