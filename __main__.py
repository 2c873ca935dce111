"""Pulumi entry point: `pulumi up` runs this file."""

import pulumi

import program
from config.errors import ConfigError

try:
    program.main()
except ConfigError as err:
    # The Python language host prints a RunError's message alone, without the traceback it shows for
    # any other exception (pulumi v3.259.0, sdk/python/cmd/pulumi-language-python-exec).
    raise pulumi.RunError(str(err)) from None
