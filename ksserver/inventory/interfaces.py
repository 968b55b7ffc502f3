"""Host network interfaces."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ksserver.db.models import Host, Interface
from ksserver.errors import AlreadyExists, InvalidArgument, NotFound
from ksserver.inventory import networks, validate


def get_interface(session: Session, host: Host, device: str) -> Interface:
    iface = session.scalar(select(Interface).where(Interface.host_id == host.id, Interface.device == device))
    if iface is None:
        raise NotFound(f"host {host.name} has no interface {device!r}")
    return iface


def _check_mac_free(session: Session, mac: str, except_id: int | None = None) -> None:
    other = session.scalar(select(Interface).where(Interface.mac == mac))
    if other is not None and other.id != except_id:
        raise AlreadyExists(f"MAC {mac} is already used by {other.host.name} {other.device}")


def _check_ip_free(session: Session, ip: str, subnet_id: int | None, except_id: int | None = None) -> None:
    other = session.scalar(select(Interface).where(Interface.ip == ip, Interface.subnet_id == subnet_id))
    if other is not None and other.id != except_id:
        raise AlreadyExists(f"IP {ip} is already used by {other.host.name} {other.device}")


def add_interface(session: Session, host: Host, device: str, *, mac: str | None = None,
                  ip: str | None = None, subnet: str | None = "private", name: str | None = None,
                  module: str | None = None, vlan: int | None = None) -> Interface:
    device = validate.device(device)
    if session.scalar(select(Interface.id).where(Interface.host_id == host.id, Interface.device == device)):
        raise AlreadyExists(f"host {host.name} already has an interface {device}")
    net = networks.get_subnet(session, subnet) if subnet else None
    if mac:
        mac = validate.mac(mac)
        _check_mac_free(session, mac)
    if ip == "auto":
        if net is None:
            raise InvalidArgument("ip=auto needs a subnet")
        ip = networks.allocate_ip(session, net)
    elif ip:
        ip = validate.ipv4(ip)
        if net is not None:
            networks.check_ip_in_subnet(ip, net)
        _check_ip_free(session, ip, net.id if net else None)
    iface = Interface(host_id=host.id, device=device, mac=mac, ip=ip, subnet_id=net.id if net else None,
                      name=name or host.name, module=module, vlan=vlan)
    iface.subnet = net
    session.add(iface)
    session.flush()
    return iface


def remove_interface(session: Session, host: Host, device: str) -> None:
    session.delete(get_interface(session, host, device))
    session.flush()


def set_interface_field(session: Session, host: Host, device: str, field: str, value: str) -> Interface:
    iface = get_interface(session, host, device)
    none = value.strip().lower() in ("", "none", "null")
    if field == "mac":
        iface.mac = None if none else validate.mac(value)
        if iface.mac:
            _check_mac_free(session, iface.mac, iface.id)
    elif field == "ip":
        if none:
            iface.ip = None
        else:
            ip = networks.allocate_ip(session, iface.subnet) if value == "auto" and iface.subnet else \
                validate.ipv4(value)
            if iface.subnet is not None:
                networks.check_ip_in_subnet(ip, iface.subnet)
            _check_ip_free(session, ip, iface.subnet_id, iface.id)
            iface.ip = ip
    elif field == "subnet":
        net = None if none else networks.get_subnet(session, value)
        if net is not None and iface.ip:
            networks.check_ip_in_subnet(iface.ip, net)
            _check_ip_free(session, iface.ip, net.id, iface.id)
        iface.subnet_id = net.id if net else None
        iface.subnet = net
    elif field in ("module", "name", "options"):
        setattr(iface, field, None if none else validate.attr_value(field, value))
    elif field == "vlan":
        iface.vlan = None if none else validate.integer("vlan", value, 0, 4094)
    else:
        raise InvalidArgument(f"cannot set interface field {field!r}")
    session.flush()
    return iface


def list_interfaces(session: Session, hosts: list[Host]) -> list[Interface]:
    ids = [h.id for h in hosts]
    query = select(Interface).join(Host).where(Interface.host_id.in_(ids)).order_by(Host.rack, Host.rank,
                                                                                      Host.name, Interface.device)
    return list(session.scalars(query))
