"""COMMAND INFO must agree with Redis 7.0 for every command Needletail implements.

Compared field by field: name, arity, flags, key range, ACL categories, tips, key specs and
subcommands (those both servers have). Key-spec `notes` are Redis's documentation prose, which
Needletail does not copy, so they are left out of the comparison.
"""
import redis


def normalize(entry):
    name, arity, flags, first, last, step, categories, tips, specs, subcommands = entry
    cleaned_specs = []
    for spec in specs:
        fields = dict(zip(spec[::2], spec[1::2]))
        fields.pop(b"notes", None)
        cleaned_specs.append(sorted(fields.items(), key=lambda item: item[0]))
    return {
        "name": name, "arity": arity, "flags": flags, "range": (first, last, step), "categories": categories,
        "tips": tips, "specs": cleaned_specs, "subcommands": {sub[0]: normalize(sub) for sub in subcommands},
    }


def command_table(port):
    client = redis.Redis(port=port, protocol=2)
    connection = client.connection_pool.get_connection()
    try:
        connection.send_command("COMMAND")
        return {entry[0]: normalize(entry) for entry in connection.read_response()}
    finally:
        client.connection_pool.release(connection)


def test_command_info_agrees_with_redis(pair):
    ours, theirs = (command_table(server.port) for server in pair)
    assert len(ours) >= 60
    for name, mine in ours.items():
        assert name in theirs, f"{name!r} is not a Redis 7.0 command"
        reference = theirs[name]
        for field in ("arity", "flags", "range", "categories", "tips", "specs"):
            assert mine[field] == reference[field], f"{name!r} {field}: {mine[field]} != {reference[field]}"
        for sub, sub_info in mine["subcommands"].items():
            if sub not in reference["subcommands"]:
                # Redis 7.2's CLIENT SETINFO (modern clients send it on connect) and NO-TOUCH.
                assert sub in (b"client|setinfo", b"client|no-touch"), f"{sub!r} is not a Redis 7.0 subcommand"
                continue
            for field in ("arity", "flags", "range", "categories", "tips", "specs"):
                assert sub_info[field] == reference["subcommands"][sub][field], f"{sub!r} {field}"


def test_command_count_and_list_agree_with_the_table(needletail):
    client = redis.Redis(port=needletail.port, decode_responses=True)
    names = client.command_list()
    assert client.command_count() == len([n for n in names if "|" not in n])
    assert "get" in names and "client|list" in names


DIFFERENT_DEFAULTS = {
    "port", "dir", "bind", "daemonize", "pidfile", "logfile", "save", "appendonly", "enable-debug-command",
    # Needletail's own event-loop count, read also under Redis's name.
    "io-threads", "threads",
}


def test_config_defaults_agree_with_redis():
    from conftest import start_needletail, start_redis
    ours, theirs = start_needletail(), start_redis()
    try:
        mine = redis.Redis(port=ours.port, decode_responses=True).config_get("*")
        reference = redis.Redis(port=theirs.port, decode_responses=True).config_get("*")
    finally:
        ours.stop()
        theirs.stop()
    assert set(reference) - set(mine) == set(), "directives Redis has and Needletail lacks"
    assert set(mine) - set(reference) == {"threads"}
    for name, value in reference.items():
        if name not in DIFFERENT_DEFAULTS:
            assert mine[name] == value, f"{name}: {mine[name]!r} != {value!r}"
