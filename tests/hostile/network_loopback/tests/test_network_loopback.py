# ruff: noqa
"""Hostile: reach a TCP listener and an abstract unix socket on the grader's host."""

import socket

from app import add

PORT = int("@@PORT@@")
ABSTRACT = "@@ABSTRACT@@"


def test_add():
    assert add(1, 2) == 3


def test_connect_host_loopback_tcp():
    with socket.create_connection(("127.0.0.1", PORT), timeout=3) as conn:
        conn.sendall(b"hostile submission was here")


def test_connect_host_abstract_unix_socket():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(3)
        conn.connect("\0" + ABSTRACT)
        conn.sendall(b"hostile submission was here")
