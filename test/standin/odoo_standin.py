#!/usr/bin/python3
"""Marina's Odoo STAND-IN. This is NOT Odoo.

CI has no Odoo source, so CI runs Marina's platform flows against this small program,
which honours the same OUTSIDE contract as the official odoo image's `odoo` command:
options (-c, -d, -i, -u, --stop-after-init, --db_*, --http-port ...), `neutralize -d DB`,
`--version`, an HTTP service (/web/health, /web/login, /web/session/authenticate, a
disabled database manager) and log lines in Odoo's format. `-i base` creates the few
tables Marina reads, with real rows, and a filestore.

Never use it as evidence of how Odoo behaves: that is what the real-Odoo tests are for.
Only Debian's python3 and python3-psycopg2 are needed.
"""

import ast
import base64
import configparser
import hashlib
import html
import http.server
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import parse_qs, urlsplit

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

SERIE = os.environ.get("ODOO_VERSION", "17.0")
VERSION_STRING = f"Odoo Server {SERIE} (Marina stand-in)"
PBKDF2_ROUNDS = 600_000  # what Odoo 17 uses (MIN_ROUNDS)

# Modules the stand-in knows without any addons path (the real ones are much bigger).
BUILTIN_MODULES = {
    "base": {"version": "1.3", "summary": "The kernel of Odoo, needed for all installation.",
             "name": "Base", "author": "Odoo S.A.", "depends": [], "application": False,
             "auto_install": False, "license": "LGPL-3", "category": "Hidden"},
    "web": {"version": "1.0", "summary": "", "name": "Web", "author": "Odoo S.A.",
            "depends": ["base"], "application": False, "auto_install": True,
            "license": "LGPL-3", "category": "Hidden"},
}

# ---------------------------------------------------------------- logging (Odoo's format)

_local = threading.local()


class OdooFormatter(logging.Formatter):
    def format(self, record):
        record.pid = os.getpid()
        record.dbname = getattr(_local, "dbname", None) or "?"
        record.perf_info = getattr(record, "perf_info", "")
        return super().format(record)


def setup_logging(logfile=None):
    handler = logging.FileHandler(logfile) if logfile else logging.StreamHandler(sys.stderr)
    handler.setFormatter(OdooFormatter(
        "%(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s %(perf_info)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


log = logging.getLogger("odoo")
log_loading = logging.getLogger("odoo.modules.loading")
log_registry = logging.getLogger("odoo.modules.registry")
log_server = logging.getLogger("odoo.service.server")
log_users = logging.getLogger("odoo.addons.base.models.res_users")
log_werkzeug = logging.getLogger("werkzeug")

# ---------------------------------------------------------------- configuration

DEFAULTS = {
    "db_host": False, "db_port": False, "db_user": False, "db_password": False,
    "db_name": False, "dbfilter": "", "db_template": "template0", "list_db": True,
    "admin_passwd": "admin", "data_dir": os.path.expanduser("~/.local/share/Odoo"),
    "addons_path": "", "http_port": 8069, "http_interface": "", "gevent_port": 8072,
    "workers": 0, "proxy_mode": False, "without_demo": False, "load_language": "",
    "logfile": "", "log_level": "info", "server_wide_modules": "base,web",
}
BOOL_OPTIONS = {"list_db", "proxy_mode"}
INT_OPTIONS = {"http_port", "gevent_port", "workers"}
# command-line option -> (config key or None to accept and ignore, takes a value)
CLI_OPTIONS = {
    "-c": ("config", True), "--config": ("config", True),
    "-d": ("db_name", True), "--database": ("db_name", True),
    "-i": ("init", True), "--init": ("init", True),
    "-u": ("update", True), "--update": ("update", True),
    "--db_host": ("db_host", True), "--db_port": ("db_port", True),
    "--db_user": ("db_user", True), "--db_password": ("db_password", True),
    "-r": ("db_user", True), "-w": ("db_password", True),
    "--db-filter": ("dbfilter", True), "--db-template": ("db_template", True),
    "-p": ("http_port", True), "--http-port": ("http_port", True),
    "--xmlrpc-port": ("http_port", True), "--http-interface": ("http_interface", True),
    "--gevent-port": ("gevent_port", True), "--longpolling-port": ("gevent_port", True),
    "--addons-path": ("addons_path", True), "-D": ("data_dir", True),
    "--data-dir": ("data_dir", True), "--workers": ("workers", True),
    "--without-demo": ("without_demo", True), "--load-language": ("load_language", True),
    "--logfile": ("logfile", True), "--log-level": ("log_level", True),
    "--load": ("server_wide_modules", True),
    "--stop-after-init": ("stop_after_init", False), "--proxy-mode": ("proxy_mode", False),
    "--no-database-list": ("no_database_list", False), "--stdout": ("to_stdout", False),
    # accepted, no effect in the stand-in
    "--max-cron-threads": (None, True), "--limit-memory-soft": (None, True),
    "--limit-memory-hard": (None, True), "--limit-time-cpu": (None, True),
    "--limit-time-real": (None, True), "--limit-request": (None, True),
    "--db_maxconn": (None, True), "--db_sslmode": (None, True), "--log-handler": (None, True),
    "--smtp": (None, True), "--smtp-port": (None, True), "--smtp-user": (None, True),
    "--smtp-password": (None, True), "--email-from": (None, True), "--dev": (None, True),
    "--no-http": (None, False), "--smtp-ssl": (None, False),
}


def to_python(key, value):
    if isinstance(value, str):
        if value in ("False", "None", ""):
            return False if key not in ("dbfilter", "addons_path", "load_language") else ""
        if value == "True":
            return True
        if key in INT_OPTIONS:
            return int(value)
        if key in BOOL_OPTIONS:
            return value.lower() in ("1", "true", "yes", "on")
    return value


def parse_args(argv):
    """Odoo-like option parsing: CLI wins over the config file, which wins over defaults."""
    cli, warnings, i = {}, [], 0
    while i < len(argv):
        arg = argv[i]
        # "--opt=" gives an empty value, as optparse does (Odoo's `--without-demo=` loads demo data)
        name, equals, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name.startswith("-") and not name.startswith("--") and len(name) > 2:
            name, inline = name[:2], name[2:]  # -dmydb
        spec = CLI_OPTIONS.get(name)
        if spec is None:
            warnings.append(f"unknown option ignored by the stand-in: {arg}")
            i += 1
            continue
        key, takes_value = spec
        value = True
        if takes_value:
            if inline or equals:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                raise SystemExit(f"odoo: error: option {name} requires an argument")
        if key:
            cli[key] = value
        i += 1

    rcfile = cli.get("config") or os.environ.get("ODOO_RC") or os.path.expanduser("~/.odoorc")
    opts = dict(DEFAULTS)
    opts["config_file"] = rcfile if os.path.isfile(rcfile) else None
    if opts["config_file"]:
        parser = configparser.RawConfigParser()
        parser.read(rcfile)
        if parser.has_section("options"):
            for key, value in parser.items("options"):
                opts[key] = to_python(key, value)
    for key, value in cli.items():
        opts[key] = to_python(key, value) if key not in ("init", "update") else value
    if cli.get("no_database_list"):
        opts["list_db"] = False
    opts["init"] = [m.strip() for m in str(cli.get("init", "")).split(",") if m.strip()]
    opts["update"] = [m.strip() for m in str(cli.get("update", "")).split(",") if m.strip()]
    opts["stop_after_init"] = bool(cli.get("stop_after_init"))
    opts["to_stdout"] = bool(cli.get("to_stdout"))
    return opts, warnings


# ---------------------------------------------------------------- database helpers

class Db:
    """A connection that counts its queries and their time, for the werkzeug log line."""

    def __init__(self, opts, dbname):
        params = {"dbname": dbname, "application_name": f"odoo-{os.getpid()}"}
        for key, pg in (("db_host", "host"), ("db_port", "port"), ("db_user", "user"),
                        ("db_password", "password")):
            if opts.get(key):
                params[pg] = str(opts[key])
        self.conn = psycopg2.connect(**params)
        self.dbname = dbname

    def run(self, query, args=None):
        started = time.monotonic()
        with self.conn.cursor() as cur:
            cur.execute(query, args)
            rows = cur.fetchall() if cur.description else None
        _local.queries = getattr(_local, "queries", 0) + 1
        _local.query_time = getattr(_local, "query_time", 0.0) + time.monotonic() - started
        return rows

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.conn.commit()
        self.conn.close()


def ab64(data):
    return base64.b64encode(data).decode().rstrip("=").replace("+", ".")


def hash_password(password):
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ROUNDS)
    return f"$pbkdf2-sha512${PBKDF2_ROUNDS}${ab64(salt)}${ab64(digest)}"


def check_password(password, stored):
    """passlib's pbkdf2_sha512 format (what Odoo stores); plaintext is accepted (deprecated)."""
    if not stored:
        return False
    if not stored.startswith("$"):
        return secrets.compare_digest(password.encode(), stored.encode())
    try:
        _, scheme, rounds, salt, digest = stored.split("$")
        if scheme != "pbkdf2-sha512":
            return False

        def unab64(text):
            text = text.replace(".", "+")
            return base64.b64decode(text + "=" * (-len(text) % 4))
        computed = hashlib.pbkdf2_hmac("sha512", password.encode(), unab64(salt), int(rounds))
        return secrets.compare_digest(computed, unab64(digest))
    except ValueError:
        return False


def adapt_version(version):
    if version == SERIE or not version.startswith(SERIE + "."):
        version = f"{SERIE}.{version}"
    return version


def module_catalog(opts):
    """Built-in modules plus every module with a manifest found on the addons path."""
    catalog = {name: dict(info) for name, info in BUILTIN_MODULES.items()}
    for path in str(opts.get("addons_path") or "").split(","):
        path = path.strip()
        if not path or not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            manifest = os.path.join(path, name, "__manifest__.py")
            if name in catalog or not os.path.isfile(manifest):
                continue
            try:
                with open(manifest, encoding="utf-8") as f:
                    data = ast.literal_eval(f.read())
            except (OSError, ValueError, SyntaxError) as exc:
                log_loading.warning("could not read %s: %s", manifest, exc)
                continue
            catalog[name] = {
                "version": str(data.get("version", "1.0")), "summary": data.get("summary", ""),
                "name": data.get("name", name), "author": data.get("author", ""),
                "depends": list(data.get("depends", [])), "application": bool(data.get("application")),
                "auto_install": bool(data.get("auto_install")), "license": data.get("license", "LGPL-3"),
                "category": data.get("category", "Uncategorized")}
    return catalog


SCHEMA = """
CREATE TABLE ir_module_module (
    id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar, latest_version varchar,
    shortdesc jsonb, summary jsonb, author varchar, license varchar, application boolean,
    auto_install boolean, demo boolean DEFAULT false, category varchar,
    create_date timestamp DEFAULT (now() at time zone 'UTC'),
    write_date timestamp DEFAULT (now() at time zone 'UTC'));
CREATE TABLE ir_module_module_dependency (
    id serial PRIMARY KEY, module_id integer REFERENCES ir_module_module(id) ON DELETE CASCADE,
    name varchar);
CREATE TABLE ir_model_data (
    id serial PRIMARY KEY, module varchar NOT NULL, name varchar NOT NULL, model varchar NOT NULL,
    res_id integer, noupdate boolean DEFAULT false);
CREATE TABLE ir_config_parameter (
    id serial PRIMARY KEY, key varchar NOT NULL UNIQUE, value text NOT NULL,
    create_uid integer, create_date timestamp DEFAULT (now() at time zone 'UTC'),
    write_uid integer, write_date timestamp DEFAULT (now() at time zone 'UTC'));
CREATE TABLE res_company (id serial PRIMARY KEY, name varchar NOT NULL, partner_id integer);
CREATE TABLE res_country (id serial PRIMARY KEY, code varchar(2) NOT NULL UNIQUE, name jsonb);
CREATE TABLE res_partner (
    id serial PRIMARY KEY, name varchar, complete_name varchar, email varchar, active boolean DEFAULT true,
    company_id integer, lang varchar, country_id integer REFERENCES res_country(id));
CREATE TABLE res_users (
    id serial PRIMARY KEY, login varchar NOT NULL UNIQUE, password varchar,
    active boolean DEFAULT true, partner_id integer NOT NULL, company_id integer NOT NULL,
    share boolean DEFAULT false, create_date timestamp DEFAULT (now() at time zone 'UTC'),
    write_date timestamp DEFAULT (now() at time zone 'UTC'));
CREATE TABLE res_lang (
    id serial PRIMARY KEY, code varchar NOT NULL UNIQUE, name varchar, active boolean);
CREATE TABLE ir_mail_server (
    id serial PRIMARY KEY, name varchar NOT NULL, from_filter varchar, smtp_host varchar,
    smtp_port integer, smtp_authentication varchar, smtp_user varchar, smtp_pass varchar,
    smtp_encryption varchar, sequence integer DEFAULT 10, active boolean DEFAULT true);
CREATE TABLE ir_cron (
    id serial PRIMARY KEY, cron_name varchar, user_id integer, active boolean,
    interval_number integer, interval_type varchar, nextcall timestamp, lastcall timestamp,
    priority integer DEFAULT 5);
CREATE TABLE ir_attachment (
    id serial PRIMARY KEY, name varchar NOT NULL, res_model varchar, res_id integer,
    store_fname varchar, checksum varchar(40), file_size integer, mimetype varchar,
    type varchar DEFAULT 'binary', db_datas bytea,
    create_date timestamp DEFAULT (now() at time zone 'UTC'));
"""


def create_database_if_missing(opts, dbname):
    """Like odoo/cli/server.py: -d names a missing database -> create it (and init base)."""
    with Db(opts, "postgres") as db:
        if db.run("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)):
            return False
        db.conn.rollback()
        db.conn.autocommit = True
        template = opts.get("db_template") or "template0"
        collate = sql.SQL("LC_COLLATE 'C'" if template == "template0" else "")
        db.run(sql.SQL("CREATE DATABASE {} ENCODING 'unicode' {} TEMPLATE {}").format(
            sql.Identifier(dbname), collate, sql.Identifier(template)))
    try:
        with Db(opts, dbname) as db:
            db.run("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except psycopg2.Error as exc:
        logging.getLogger("odoo.service.db").warning("Unable to create the pg_trgm extension: %s", exc)
    return True


def is_initialized(db):
    return bool(db.run("SELECT 1 FROM pg_class WHERE relname = 'ir_module_module'"))


def init_db(db, opts):
    log_loading.info("init db")
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.run(statement)
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    params = {"database.uuid": str(uuid.uuid4()), "database.secret": str(uuid.uuid4()),
              "database.create_date": now, "base.login_cooldown_after": "10",
              "base.login_cooldown_duration": "60",
              "web.base.url": f"http://localhost:{opts['http_port']}"}
    for key, value in params.items():
        db.run("INSERT INTO ir_config_parameter (key, value, create_uid, write_uid) "
               "VALUES (%s, %s, 1, 1)", (key, value))
    db.run("INSERT INTO res_company (id, name, partner_id) VALUES (1, 'My Company', 1)")
    # A few countries, as base's data loads them all.
    for code, name in (("BE", "Belgium"), ("FR", "France"), ("US", "United States"), ("DE", "Germany")):
        db.run("INSERT INTO res_country (code, name) VALUES (%s, %s)", (code, json.dumps({"en_US": name})))
    for pid, name, email, active in ((1, "My Company", "info@yourcompany.com", True),
                                     (2, "OdooBot", "odoobot@example.com", False),
                                     (3, "Administrator", "admin@yourcompany.example.com", True),
                                     (4, "Public user", None, False)):
        db.run("INSERT INTO res_partner (id, name, email, active, company_id, lang) "
               "VALUES (%s, %s, %s, %s, 1, 'en_US')", (pid, name, email, active))
    for uid, login, password, active, partner, share in (
            (1, "__system__", None, False, 2, False), (2, "admin", hash_password("admin"), True, 3, False),
            (3, "public", None, False, 4, True)):
        db.run("INSERT INTO res_users (id, login, password, active, partner_id, company_id, share) "
               "VALUES (%s, %s, %s, %s, %s, 1, %s)", (uid, login, password, active, partner, share))
    for table in ("res_company", "res_partner", "res_users"):
        db.run(sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))")
               .format(sql.Literal(table), sql.Identifier(table)))
    db.run("INSERT INTO res_lang (code, name, active) VALUES ('en_US', 'English (US)', true)")
    for xmlid, cron_name, interval in (("autovacuum_job", "Base: Auto-vacuum internal data", "days"),
                                       ("ir_cron_res_users_deletion", "Base: Portal Users Deletion", "days")):
        (cron_id,), = db.run(
            "INSERT INTO ir_cron (cron_name, user_id, active, interval_number, interval_type, nextcall) "
            "VALUES (%s, 1, true, 1, %s, now() at time zone 'UTC') RETURNING id", (cron_name, interval))
        db.run("INSERT INTO ir_model_data (module, name, model, res_id, noupdate) "
               "VALUES ('base', %s, 'ir.cron', %s, true)", (xmlid, cron_id))
    for xmlid, model, res_id in (("main_company", "res.company", 1), ("user_root", "res.users", 1),
                                 ("user_admin", "res.users", 2), ("public_user", "res.users", 3),
                                 ("partner_admin", "res.partner", 3)):
        db.run("INSERT INTO ir_model_data (module, name, model, res_id, noupdate) "
               "VALUES ('base', %s, %s, %s, true)", (xmlid, model, res_id))
    write_sample_attachment(db, opts)


def write_sample_attachment(db, opts):
    """One attachment in the filestore, laid out like Odoo's (<data_dir>/filestore/<db>/ab/abcd...)."""
    content = b"Marina stand-in sample attachment (not Odoo data)\n"
    checksum = hashlib.sha1(content).hexdigest()
    store_fname = f"{checksum[:2]}/{checksum}"
    path = os.path.join(opts["data_dir"], "filestore", db.dbname, store_fname)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)
    db.run("INSERT INTO ir_attachment (name, res_model, res_id, store_fname, checksum, file_size, mimetype) "
           "VALUES ('standin-sample.txt', 'res.partner', 1, %s, %s, %s, 'text/plain')",
           (store_fname, checksum, len(content)))


def with_dependencies(names, catalog):
    ordered, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        for dep in catalog[name]["depends"]:
            if dep in catalog:
                visit(dep)
        ordered.append(name)
    for name in names:
        visit(name)
    return ordered


def load_modules(db, opts, init, update):
    """-i / -u: install or update modules, log like odoo.modules.loading. False on error."""
    started = time.monotonic()
    catalog = module_catalog(opts)
    initialized = is_initialized(db)
    if not initialized:
        if not init and not update:
            log_loading.error("Database %s not initialized, you can force it with `-i base`", db.dbname)
            return True
        init_db(db, opts)
        init = ["base"] + [m for m in init if m != "base"]
    names = [m for m in init + update if m != "all"]
    unknown = [m for m in names if m not in catalog]
    if unknown:
        log_loading.error("invalid module names, not in the stand-in's catalog or addons path: %s",
                          ", ".join(unknown))
        return False
    # with -i/-u every known module is listed, installed or not (Odoo's "updating modules list")
    existing = {name for (name,) in db.run("SELECT name FROM ir_module_module")}
    for name, info in catalog.items():
        if (init or update) and name not in existing:
            (mod_id,), = db.run(
                "INSERT INTO ir_module_module (name, state, shortdesc, summary, author, license, "
                "application, auto_install, category) VALUES (%s, 'uninstalled', %s, %s, %s, %s, %s, %s, %s) "
                "RETURNING id",
                (name, json.dumps({"en_US": info["name"]}), json.dumps({"en_US": info["summary"]}),
                 info["author"], info["license"], info["application"], info["auto_install"], info["category"]))
            for dep in info["depends"]:
                db.run("INSERT INTO ir_module_module_dependency (module_id, name) VALUES (%s, %s)",
                       (mod_id, dep))
    installed = {name for (name,) in db.run("SELECT name FROM ir_module_module WHERE state = 'installed'")}
    to_update = sorted(installed) if "all" in update else [m for m in update if m in installed]
    for name in update:
        if name != "all" and name not in installed:
            log_loading.warning("module %s: not installed, -u ignored", name)
    to_install = [m for m in with_dependencies(init, catalog) if m not in installed]
    # auto_install modules whose dependencies are all there (web after base)
    for name, info in catalog.items():
        if info["auto_install"] and name not in installed and name not in to_install and all(
                d in installed or d in to_install for d in info["depends"]):
            to_install.append(name)
    todo = with_dependencies(to_install + to_update, catalog)
    demo = str(opts.get("without_demo") or "False") in ("False", "")
    log_loading.info("loading %d modules...", len(todo) or len(installed))
    for index, name in enumerate(todo, 1):
        mod_started = time.monotonic()
        log_loading.info("Loading module %s (%d/%d)", name, index, len(todo))
        db.run("UPDATE ir_module_module SET state = 'installed', latest_version = %s, "
               "demo = CASE WHEN state = 'installed' THEN demo ELSE %s END, "
               "write_date = now() at time zone 'UTC' WHERE name = %s",
               (adapt_version(catalog[name]["version"]), demo, name))
        log_loading.info("Module %s loaded in %.2fs, %d queries (+%d other)", name,
                         time.monotonic() - mod_started, 3, 3)
    log_loading.info("%d modules loaded in %.2fs, %d queries (+%d extra)", len(todo),
                     time.monotonic() - started, getattr(_local, "queries", 0), 0)
    for code in [c.strip() for c in str(opts.get("load_language") or "").split(",") if c.strip()]:
        db.run("INSERT INTO res_lang (code, name, active) VALUES (%s, %s, true) "
               "ON CONFLICT (code) DO UPDATE SET active = true", (code, code))
        logging.getLogger("odoo.addons.base.models.res_lang").info("Loading language %s", code)
    log_loading.info("Modules loaded.")
    log_registry.info("Registry loaded in %.3fs", time.monotonic() - started)
    return True


def open_registry(opts, dbname):
    """What Odoo does for each database in -d before serving (or with --stop-after-init)."""
    _local.dbname = dbname
    try:
        created = create_database_if_missing(opts, dbname)
        init = list(opts["init"]) + (["base"] if created and "base" not in opts["init"] else [])
        with Db(opts, dbname) as db:
            if not load_modules(db, opts, init, opts["update"]):
                db.conn.rollback()
                return False
        return True
    except psycopg2.Error:
        logging.getLogger("odoo.modules.registry").exception("Failed to load registry")
        return False
    finally:
        _local.dbname = None


# ---------------------------------------------------------------- neutralize

NEUTRALIZE_SQL = [  # base/data/neutralize.sql of Odoo 17, minus what the stand-in has no table for
    "UPDATE ir_mail_server SET active = false",
    "INSERT INTO ir_mail_server(name, smtp_port, smtp_host, smtp_encryption, active, smtp_authentication) "
    "VALUES ('neutralization - disable emails', 1025, 'invalid', 'none', true, 'login')",
    "UPDATE ir_cron SET active = false WHERE id NOT IN (SELECT res_id FROM ir_model_data "
    "WHERE model = 'ir.cron' AND name = 'autovacuum_job' AND module = 'base')",
    "INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', true) "
    "ON CONFLICT (key) DO UPDATE SET value = true",
]


def neutralize(opts):
    dbname = opts.get("db_name")
    logger = logging.getLogger("odoo.cli.neutralize")
    if not dbname:
        logger.error('Neutralize command needs a database name. Use "-d" argument')
        return 1
    if opts["to_stdout"]:
        print("BEGIN;\n" + ";\n".join(NEUTRALIZE_SQL) + ";\nCOMMIT;")
        return 0
    logger.info("Starting %s database neutralization", dbname)
    _local.dbname = dbname
    try:
        with Db(opts, dbname) as db:
            for query in NEUTRALIZE_SQL:
                db.run(query)
        logging.getLogger("odoo.modules.neutralize").info("Neutralization finished")
        return 0
    except psycopg2.Error:
        logger.critical("An error occurred during the neutralization. THE DATABASE IS NOT NEUTRALIZED!")
        return 1


# ---------------------------------------------------------------- HTTP service

DB_MANAGER_DISABLED = "The database manager has been disabled by the administrator"
LOGIN_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"/><title>Odoo</title></head>
<body class="bg-100">
<!-- Marina's Odoo stand-in: not Odoo -->
<form class="oe_login_form" role="form" method="post" action="/web/login">
<input type="hidden" name="csrf_token" value="{csrf}"/>
{databases}
<div class="mb-3 field-login"><label for="login">Email</label>
<input type="text" name="login" id="login" required="required" autofocus="autofocus"/></div>
<div class="mb-3"><label for="password">Password</label>
<input type="password" name="password" id="password" required="required"/></div>
{error}
<button type="submit" class="btn btn-primary">Log in</button>
</form></body></html>
"""


def list_databases(opts):
    with Db(opts, "postgres") as db:
        templates = tuple({"postgres", opts.get("db_template") or "template0"})
        rows = db.run("SELECT datname FROM pg_database WHERE datdba = (SELECT usesysid FROM pg_user "
                      "WHERE usename = current_user) AND NOT datistemplate AND datallowconn "
                      "AND datname NOT IN %s ORDER BY datname", (templates,))
    return [name for (name,) in rows]


def db_filter(opts, dbs, host):
    """odoo.http.db_filter: dbfilter (with %h / %d), else the -d list, else everything."""
    if opts.get("dbfilter"):
        host = host.partition(":")[0]
        if host.startswith("www."):
            host = host[4:]
        domain = host.partition(".")[0]
        pattern = re.compile(opts["dbfilter"].replace("%h", re.escape(host)).replace("%d", re.escape(domain)))
        return [d for d in dbs if pattern.match(d)]
    if opts.get("db_name"):
        return sorted({d.strip() for d in opts["db_name"].split(",")}.intersection(dbs))
    return list(dbs)


WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def websocket_frame(opcode, payload):
    """One unmasked, final server frame (RFC 6455 section 5.2)."""
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, size])
    elif size < 65536:
        head = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
    return head + payload


class StandinServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Werkzeug/2.2.2"
    sys_version = "Python/3.11"
    opts = {}
    sessions = {}

    def log_message(self, *_):  # werkzeug-style lines are written by log_request
        pass

    def log_request(self, code="-", size="-"):
        started = getattr(self, "_started", time.monotonic())  # unset when the request line was bad
        remaining = time.monotonic() - started - getattr(_local, "query_time", 0.0)
        log_werkzeug.info('%s - - [%s] "%s" %s %s', self.client_address[0], self.log_date_time_string(),
                          self.requestline, code, "-", extra={"perf_info": "%d %.3f %.3f" % (
                              getattr(_local, "queries", 0), getattr(_local, "query_time", 0.0), max(remaining, 0))})

    def send(self, status, body, content_type="text/html; charset=utf-8", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, payload, headers=()):
        self.send(200, json.dumps(payload), "application/json", headers)

    def monodb(self):
        try:
            dbs = db_filter(self.opts, list_databases(self.opts), self.headers.get("Host", ""))
        except psycopg2.Error:
            return None
        return dbs[0] if len(dbs) == 1 else None

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        self._started = time.monotonic()
        _local.queries, _local.query_time, _local.dbname = 0, 0.0, None
        url = urlsplit(self.path)
        self.query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        try:
            route = {
                "/web/health": self.health, "/web/login": self.login,
                "/web/session/authenticate": self.authenticate, "/web/standin/crash": self.crash,
                "/web/standin/echo": self.echo, "/websocket": self.websocket, "/longpolling/poll": self.echo,
            }.get(url.path.rstrip("/") or "/")
            if route is None and url.path.startswith("/web/database/"):
                route = self.database_manager
            if route is None:
                self.send(404, "<!DOCTYPE html><title>404: Not Found</title><h1>404: Not Found</h1>")
            else:
                route(url.path)
        except Exception:
            logging.getLogger("odoo.http").exception("Exception during request handling.")
            self.send(500, "<!DOCTYPE html><title>500: Internal Server Error</title>"
                           "<h1>500: Internal Server Error</h1>")
        finally:
            _local.dbname = None

    def health(self, _path):
        info, status = {"status": "pass"}, 200
        if self.query.get("db_server_status", [""])[0] not in ("", "0", "false", "False"):
            try:
                with Db(self.opts, "postgres"):
                    info["db_server_status"] = True
            except psycopg2.Error:
                info["db_server_status"], info["status"], status = False, "fail", 500
        self.send(status, json.dumps(info), "application/json", [("Cache-Control", "no-store")])

    def login(self, _path):
        if "db" in self.query:
            sid = secrets.token_urlsafe(30)
            self.sessions[sid] = {"db": self.query["db"][0], "uid": None}
            self.send(302, "", headers=[("Location", "/web/login"),
                                        ("Set-Cookie", f"session_id={sid}; HttpOnly; Path=/")])
            return
        _local.dbname = self.monodb()
        error = ""
        if self.command == "POST":
            form = {k: v[0] for k, v in parse_qs(self.body.decode()).items()}
            db = _local.dbname or form.get("db", "")
            uid = self.check_login(db, form.get("login", ""), form.get("password", "")) if db else None
            if uid:
                self.send(303, "", headers=[("Location", "/odoo" if SERIE >= "18" else "/web")])
                return
            error = '<p class="alert alert-danger" role="alert">Wrong login/password</p>'
        self.send(200, LOGIN_PAGE.format(csrf=secrets.token_hex(20), databases="", error=error))

    def check_login(self, db, login, password):
        """uid, or None; logs like res_users._login."""
        with Db(self.opts, db) as conn:
            rows = conn.run("SELECT id, password FROM res_users WHERE login = %s AND active", (login,))
            uid = rows[0][0] if rows and check_password(password, rows[0][1]) else None
            if uid and rows[0][1] and not rows[0][1].startswith("$"):  # upgrade a plaintext password
                conn.run("UPDATE res_users SET password = %s WHERE id = %s", (hash_password(password), uid))
        ip = self.client_address[0]
        if uid:
            log_users.info("Login successful for db:%s login:%s from %s", db, login, ip)
        else:
            log_users.info("Login failed for db:%s login:%s from %s", db, login, ip)
        return uid

    def rpc_error(self, exc_name, message, request_id):
        self.send_json({"jsonrpc": "2.0", "id": request_id, "error": {
            "code": 200, "message": "Odoo Server Error", "data": {
                "name": exc_name, "debug": f"Traceback (most recent call last):\n{exc_name}: {message}\n",
                "message": message, "arguments": [message], "context": {}}}})

    def authenticate(self, _path):
        try:
            request = json.loads(self.body or b"{}")
            params = request.get("params") or {}
            db, login, password = params["db"], params["login"], params["password"]
        except (ValueError, KeyError, TypeError, AttributeError):
            self.send(400, "<h1>Bad Request</h1>")
            return
        request_id = request.get("id")
        if not db_filter(self.opts, [db], self.headers.get("Host", "")):
            self.rpc_error("odoo.exceptions.AccessError", "Database not found.", request_id)
            return
        try:
            uid = self.check_login(db, login, password)
        except psycopg2.OperationalError as exc:
            self.rpc_error("psycopg2.OperationalError", str(exc).strip(), request_id)
            return
        if not uid:
            self.rpc_error("odoo.exceptions.AccessDenied", "Access Denied", request_id)
            return
        sid = secrets.token_urlsafe(30)
        self.sessions[sid] = {"db": db, "uid": uid}
        with Db(self.opts, db) as conn:
            (name,), = conn.run("SELECT p.name FROM res_users u JOIN res_partner p ON p.id = u.partner_id "
                                "WHERE u.id = %s", (uid,))
            base_url = conn.run("SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'")
        major = int(SERIE.split(".")[0])
        self.send_json({"jsonrpc": "2.0", "id": request_id, "result": {
            "uid": uid, "is_system": uid in (1, 2), "is_admin": uid in (1, 2), "db": db,
            "server_version": SERIE, "server_version_info": [major, 0, 0, "final", 0, ""],
            "name": name, "username": login, "partner_display_name": name, "company_id": 1,
            "user_context": {"lang": "en_US", "tz": "UTC", "uid": uid},
            "web.base.url": base_url[0][0] if base_url else "", "standin": True}},
            headers=[("Set-Cookie", f"session_id={sid}; HttpOnly; Path=/")])

    def database_manager(self, path):
        """Only the disabled manager (list_db = False) is mimicked, as in Odoo 17's web controllers."""
        action = path.rstrip("/").rsplit("/", 1)[-1]
        if action == "list":
            request_id = (json.loads(self.body or b"{}") or {}).get("id") if self.body else None
            if not self.opts.get("list_db"):
                self.rpc_error("odoo.exceptions.AccessDenied", "Access Denied", request_id)
            else:
                self.send_json({"jsonrpc": "2.0", "id": request_id,
                                "result": db_filter(self.opts, list_databases(self.opts), self.headers.get("Host", ""))})
            return
        error = ""
        if self.command == "POST" and action in ("create", "duplicate", "drop", "backup", "restore",
                                                 "change_password"):
            label = {"create": "creation", "duplicate": "duplication", "drop": "deletion",
                     "backup": "backup", "restore": "restore", "change_password": "password change"}[action]
            if not self.opts.get("list_db"):
                logging.getLogger("odoo.service.db").error(
                    "Database management functions blocked, admin disabled database listing")
                error = f"Database {label} error: Access Denied"
            else:
                error = f"Database {label} error: Marina's Odoo stand-in has no database manager"
            logging.getLogger("odoo.addons.web.controllers.database").error(error)
        elif action not in ("manager", "selector"):
            self.send(404, "<!DOCTYPE html><title>404: Not Found</title><h1>404: Not Found</h1>")
            return
        alert = f'<div class="alert alert-danger text-center">{DB_MANAGER_DISABLED}</div>' \
            if not self.opts.get("list_db") else "<p>Marina's Odoo stand-in has no database manager.</p>"
        if error:
            alert += f'<div class="alert alert-danger">{html.escape(error)}</div>'
        self.send(200, "<!DOCTYPE html><html><head><title>Odoo</title></head><body>"
                       f'<div class="container"><div class="o_database_list">{alert}</div></div></body></html>')

    def echo(self, path):
        """What reached the stand-in, for proxy tests: the path, the port it came in on, the headers.
        (Real Odoo upgrades /websocket to a WebSocket; the stand-in only says it was reached.)"""
        self.send_json({"path": path, "port": self.server.server_address[1],
                        "headers": {k.lower(): v for k, v in self.headers.items()}},
                       headers=[("Cache-Control", "no-store")])

    def websocket(self, path):
        """An Upgrade to /websocket opens a real WebSocket (RFC 6455 handshake) where Odoo would open
        one — the gevent port with workers, the HTTP port without — and sends one text frame: the
        echo (path, port, headers), then closes. Anything else gets the echo, as before."""
        key = self.headers.get("Sec-WebSocket-Key")
        upgrade = (self.headers.get("Upgrade") or "").lower() == "websocket"
        workers = int(self.opts.get("workers") or 0)
        port = self.server.server_address[1]
        on_evented_port = port == int(self.opts.get("gevent_port") or 8072) if workers > 0 else True
        if not (upgrade and key):
            return self.echo(path)
        if not on_evented_port:
            # Odoo's prefork HTTP workers cannot hold a websocket.
            return self.send(400, "<!DOCTYPE html><title>400</title><p>websocket on the HTTP workers</p>")
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        payload = json.dumps({"path": path, "port": port,
                              "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.wfile.write(websocket_frame(0x1, payload) + websocket_frame(0x8, b"\x03\xe8"))
        self.wfile.flush()
        self.close_connection = True

    def crash(self, _path):
        """A deliberate server error, to give Marina's log handling a real traceback."""
        def inner():
            raise ZeroDivisionError("division by zero (deliberate crash of Marina's Odoo stand-in)")
        inner()


def serve(opts):
    Handler.opts = opts
    interface = opts.get("http_interface") or ""
    servers = [StandinServer((interface, int(opts["http_port"])), Handler)]
    log_server.info("HTTP service (werkzeug) running on %s:%s",
                    socket.getfqdn(interface or "0.0.0.0"), opts["http_port"])
    if int(opts.get("workers") or 0) > 0:
        servers.append(StandinServer((interface, int(opts["gevent_port"])), Handler))
        log_server.info("Evented Service (longpolling) running on %s:%s",
                        interface or "0.0.0.0", opts["gevent_port"])
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
               for s in servers]
    for thread in threads:
        thread.start()
    stop = threading.Event()

    def on_signal(signum, _frame):
        if stop.is_set():
            os._exit(1)
        log_server.info("Initiating shutdown")
        log_server.info("Hit CTRL-C again or send a second signal to force the shutdown.")
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(0.5):
        pass
    for server in servers:
        server.shutdown()
        server.server_close()
    return 0


# ---------------------------------------------------------------- main

def main(argv):
    if argv and argv[0] == "--version":
        print(VERSION_STRING)
        return 0
    command = "server"
    if argv and not argv[0].startswith("-"):
        command, argv = argv[0], argv[1:]
    if command not in ("server", "neutralize"):
        print(f"odoo: Marina's Odoo stand-in does not implement the `{command}` command", file=sys.stderr)
        return 2
    if "--version" in argv:
        print(VERSION_STRING)
        return 0
    opts, warnings = parse_args(argv)
    setup_logging(opts.get("logfile") or None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() == 0:
        print("Running as user 'root' is a security risk.", file=sys.stderr)
    log.info("Odoo version %s (Marina stand-in)", SERIE)
    log.warning("This is Marina's Odoo stand-in, not Odoo: never use it as evidence of how Odoo behaves")
    if opts["config_file"]:
        log.info("Using configuration file at %s", opts["config_file"])
    for warning in warnings:
        log.warning(warning)
    addons = [p.strip() for p in str(opts.get("addons_path") or "").split(",") if p.strip()]
    log.info("addons paths: %s", addons)
    log.info("database: %s@%s:%s", opts.get("db_user") or "default", opts.get("db_host") or "default",
             opts.get("db_port") or "default")

    if command == "neutralize":
        return neutralize(opts)

    ok = True
    dbs = [d.strip() for d in str(opts.get("db_name") or "").split(",") if d.strip()]
    if (opts["init"] or opts["update"]) and len(dbs) > 1:
        print("odoo: error: Cannot use -i/--init or -u/--update with multiple databases", file=sys.stderr)
        return 1
    if (opts["init"] or opts["update"]) and not dbs:
        log.warning("-i/-u given without -d/--database: nothing to install or update")
    for dbname in dbs:
        ok = open_registry(opts, dbname) and ok
    if opts["stop_after_init"]:
        log_server.info("Initiating shutdown")
        log_server.info("Hit CTRL-C again or send a second signal to force the shutdown.")
        return 0 if ok else 1
    return serve(opts)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:
        traceback.print_exc()
        sys.exit(1)
