#!/usr/bin/env python3
"""Validates JSON documents against a JSON schema (draft 2020-12), for the CLI output tests.

Usage: validate_json.py SCHEMA FILE...
Exit codes: 0 all valid; 1 a document is invalid (every error is printed); 2 usage error,
unreadable file, or python3-jsonschema missing. A missing validator is an error, never a pass.
"""
import json
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import jsonschema
    except ImportError:
        print("validate_json.py: ERROR: the Python module 'jsonschema' is missing; install the Debian package "
              "python3-jsonschema (scripts/install-deps.sh)", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            schema = json.load(f)
        validator_cls = jsonschema.validators.validator_for(schema)
        validator_cls.check_schema(schema)
        validator = validator_cls(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print("validate_json.py: ERROR: bad schema %s: %s" % (argv[1], e), file=sys.stderr)
        return 2
    status = 0
    for path in argv[2:]:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print("validate_json.py: %s: not JSON: %s" % (path, e), file=sys.stderr)
            return 2
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            print("%s: %s: %s" % (path, where, e.message), file=sys.stderr)
            for sub in e.context or []:
                print("  %s: %s" % ("/".join(str(p) for p in sub.absolute_path) or "(root)", sub.message),
                      file=sys.stderr)
        if errors:
            status = 1
        else:
            print("%s: valid" % path)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
