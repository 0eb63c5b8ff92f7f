"""`Registry(db).cursor()`: a psycopg2 cursor that commits when the block ends without error."""

import odoo_standin
from odoo.tools import config


class Cursor:
    def __init__(self, dbname):
        self.db = odoo_standin.Db(config.options, dbname)
        self.cur = self.db.conn.cursor()

    def execute(self, query, params=None):
        self.cur.execute(query, params)

    def fetchall(self):
        return self.cur.fetchall()

    def commit(self):
        self.db.conn.commit()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.db.conn.commit()
        else:
            self.db.conn.rollback()
        self.db.conn.close()


class Registry:
    def __init__(self, dbname):
        self.dbname = dbname

    def cursor(self):
        return Cursor(self.dbname)
