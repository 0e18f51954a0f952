"""Print the README's configuration table from `impact_graph.config.Settings`.

The settings class is the one place where options are defined; the README table is
generated from it (``python tools/settings_table.py``) and a test checks that the README
names every setting.
"""

from __future__ import annotations

from pydantic import SecretStr

from impact_graph.config import Settings


def table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "—" if default in (None, "") or isinstance(default, SecretStr) else f"`{default}`"
        if isinstance(default, SecretStr):
            shown = "`neo4j`" if name == "neo4j_password" else "—"
        desc = (field.description or "").replace("|", "\\|")
        rows.append(f"| `IMPACT_GRAPH_{name.upper()}` | {shown} | {desc} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
