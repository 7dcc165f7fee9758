#!/bin/sh
echo "coverage is not supported in this offline workspace" >&2
exit 0
