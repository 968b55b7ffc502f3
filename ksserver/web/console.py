"""The web console: server-rendered pages (Flask + Jinja2, autoescaped; scripts only where a page needs
them: the host table's live column and the VM console, our own static files) over
``ksserver.services``.  Login, the host table (paged, searched and filtered in the database), a host's
page, bulk boot actions; every change needs the admin role, the session's CSRF token and, on a host,
the version the admin saw."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from ksserver.errors import Forbidden, RocksError, Unauthorized
from ksserver.services import accounts, graphs, hostviews
from ksserver.services.hostviews import HostQuery, HostUpdate
from ksserver.values import parse_bool
from ksserver.web import auth

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")
LOGIN_COOKIE = "ksserver_login"
PER_PAGE = 50
# No inline script or style anywhere: a value that slipped through escaping still could not run.
CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(RocksError)
def _error(exc: RocksError) -> Response | Any:
    if isinstance(exc, Unauthorized):
        return redirect(url_for("console.login", next=request.full_path if request.method == "GET" else None))
    from ksserver.web.errors import client_of, log_refusal

    log_refusal(request.method, request.path, client_of(request.environ,
                                                        current_app.extensions["ksserver"].settings.trusted_proxies),
                exc)
    return _page("error.html", exc.status, message=exc.message, code=exc.status)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    try:
        principal, csrf = auth.current(optional=True), auth.csrf_token()
    except RocksError:  # rendering the page that reports a refused request
        principal, csrf = None, ""
    html = render_template(template, me=principal, csrf=csrf, **context)
    return Response(html, status=status, mimetype="text/html")


def _local(target: str | None) -> str:
    """Only our own pages are redirect targets (no open redirect to another site)."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.hosts")


@bp.get("/")
def index() -> Response:
    return redirect(url_for("console.hosts"))  # type: ignore[return-value]


@bp.get("/login")
def login() -> Response:
    # Login CSRF: the form's token must equal a cookie this site set (another site can set neither).
    token = secrets.token_urlsafe(24)
    response = _page("login.html", next=_local(request.args.get("next")), login_token=token, error=None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure,
                        path="/console/")
    return response


@bp.post("/login")
def do_login() -> Response:
    sent, expected = request.form.get("login_token", ""), request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("the login form expired or came from another site: reload it and try again")
    cluster = auth.cluster()
    old = request.cookies.get(auth.SESSION_COOKIE)
    if old:
        accounts.close_session(cluster, old)  # an id planted before login is never promoted
    try:
        principal = accounts.authenticate_password(cluster, request.form.get("user", ""),
                                                   request.form.get("password", ""))
    except Unauthorized as exc:
        token = secrets.token_urlsafe(24)
        response = _page("login.html", 401, next=_local(request.form.get("next")), login_token=token,
                         error=exc.message)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure,
                            path="/console/")
        return response
    cookie, _ = accounts.open_session(cluster, principal.name)
    response = redirect(_local(request.form.get("next")), code=303)
    response.set_cookie(auth.SESSION_COOKIE, cookie, httponly=True, samesite="Strict", secure=request.is_secure,
                        path="/", max_age=accounts.SESSION_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path="/console/")
    return response  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> Response:
    auth.current()  # checks the CSRF token: another site cannot log you out
    accounts.close_session(auth.cluster(), request.cookies.get(auth.SESSION_COOKIE, ""))
    response = redirect(url_for("console.login"), code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response  # type: ignore[return-value]


def _int(name: str, default: int | None) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.strip().isdigit() else default


@bp.get("/hosts")
def hosts() -> Response:
    auth.current()
    from ksserver.inventory.lifecycle import STAGES

    filters = {k: request.args.get(k, "") for k in ("q", "appliance", "rack", "boot", "stage")}
    boot_filter = filters["boot"] if filters["boot"] in ("install", "os") else None
    stage_filter = filters["stage"] if filters["stage"] in ("issued", *STAGES) else None
    query = HostQuery(page=max(1, _int("page", 1) or 1), per_page=PER_PAGE, search=filters["q"],
                      appliance=filters["appliance"] or None, rack=_int("rack", None), boot=boot_filter,
                      stage=stage_filter)
    page = hostviews.query_hosts(auth.cluster(), query)
    cluster = auth.cluster()
    counts = {"all": hostviews.query_hosts(cluster, HostQuery(per_page=1)).total,
              "install": hostviews.query_hosts(cluster, HostQuery(per_page=1, boot="install")).total}
    from ksserver.services import appliances

    apps = [a.name for a in appliances.list_appliances(cluster, [])]
    last = max(1, (page.total + PER_PAGE - 1) // PER_PAGE)
    kept = {k: v for k, v in filters.items() if v}

    def page_url(n: int) -> str:
        return url_for("console.hosts") + "?" + urlencode({**kept, "page": n})

    response = _page("hosts.html", page=page, filters=filters, appliances=apps, counts=counts, last=last,
                     page_url=page_url, message=request.args.get("done", ""))
    # static/live.js refreshes the boot column: our own file only, talking to this origin only
    response.headers["Content-Security-Policy"] = CSP + "; script-src 'self'; connect-src 'self'"
    return response


@bp.post("/hosts/boot")
def bulk_boot() -> Response:
    principal = auth.admin()
    names = request.form.getlist("host")
    action = request.form.get("action", "")
    if not names:
        raise RocksError("select at least one host")
    if action not in ("install", "os"):
        raise RocksError("action must be install or os")
    from ksserver.services import boot

    with auth.audited(principal, "set host boot", " ".join(names), f"action={action}"):
        boot.set_boot(auth.cluster(), names, action)
    done = f"{len(names)} host(s) set to {action}"
    return redirect(_local(request.form.get("back")) + ("&" if "?" in _local(request.form.get("back")) else "?")
                    + urlencode({"done": done}), code=303)  # type: ignore[return-value]


@bp.get("/hosts/<name>")
def host(name: str) -> Response:
    principal = auth.current()
    assert principal is not None
    reveal = bool(parse_bool(request.args.get("secrets", "no"))) and principal.is_admin
    detail = hostviews.host_detail(auth.cluster(), name, reveal)
    kickstart, ks_error = None, None
    if principal.is_admin:  # the kickstart carries the root password hash
        try:
            kickstart = graphs.host_kickstarts(auth.cluster(), [detail.summary.name])[0]
        except RocksError as exc:
            ks_error = exc.message
    from ksserver.services import lifecycle, partitions

    install = lifecycle.list_status(auth.cluster(), [detail.summary.name])[0]
    states = partitions.partition_states(auth.cluster(), [detail.summary.name])
    return _page("host.html", host=detail, kickstart=kickstart, ks_error=ks_error, reveal=reveal,
                 message=request.args.get("done", ""), install=install,
                 install_log=install.log if principal.is_admin else "",
                 partition_state=states[0] if states else None)


@bp.post("/hosts/<name>")
def change_host(name: str) -> Response:
    """One form per change on the host page: an attribute, or the boot action; each carries the
    version the page showed, so a change made meanwhile by someone else is not overwritten."""
    principal = auth.admin()
    form = request.form
    change, what = HostUpdate(), ""
    if form.get("change") == "attr":
        attr, value = form.get("attr", "").strip(), form.get("value", "")
        remove = form.get("remove") == "yes"
        change = HostUpdate(attributes={attr: None if remove else value})
        what = f"removed {attr}" if remove else f"set {attr}"
    elif form.get("change") == "boot":
        change = HostUpdate(boot=form.get("action", ""))
        what = f"boot action {form.get('action', '')}"
    else:
        raise RocksError("unknown change")
    from ksserver.values import MASK, is_secret_attr

    detail = ", ".join(f"{k}={MASK if is_secret_attr(k) and v else v}" for k, v in change.attributes.items())
    with auth.audited(principal, "change host", name, detail or what):
        hostviews.update_host(auth.cluster(), name, change, form.get("version") or None)
    return redirect(url_for("console.host", name=name, done=what), code=303)  # type: ignore[return-value]


@bp.get("/appliances/<name>/graph.svg")
def appliance_graph(name: str) -> Response:
    auth.current()
    svg = graphs.appliance_graph(auth.cluster(), name, "svg")
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/hosts/<name>/plan")
def host_plan(name: str) -> Response:
    """The plan the host's next install would follow (admins: runs the site's programs in the sandbox)."""
    auth.admin()
    from ksserver.services import partitions

    try:
        text = partitions.report_plan(auth.cluster(), name).plan.explain()
    except RocksError as exc:
        text = exc.message
    return _page("plan.html", name=name, text=text)
