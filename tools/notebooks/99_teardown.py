"""Cells of notebooks/99_teardown.ipynb (built by tools/nbbuild.py)."""

from _common import PARAMS, PARAMS_INTRO, SETUP_INTRO, setup

CELLS = [
    ("md", r"""
# 99 · Teardown

**What you will do:** find everything the runbooks created with this prefix and delete it — or, unless
`confirm_teardown` is true, only list what would be deleted.

**What you will learn:**
- why every resource was **tagged and recorded**: the run's manifest says what this run created; the Resource Groups
  Tagging API finds whatever carries the project and prefix tags (also from runs whose manifest is gone); a name sweep
  finds what that API does not cover (IAM roles, log groups);
- the **order** that makes deletion work: rules before buses, pipelines and stacks before roles, functions before
  the roles they run as, buckets emptied of every version first;
- how to **prove** nothing is left.
"""),
    ("md", r"""
## The flow

```mermaid
flowchart LR
  M[manifest.json] & T[tagging API: project + prefix] & N[name sweep: roles, log groups] --> I[inventory]
  I --> C{confirm_teardown?}
  C -- no --> D[dry run: list]
  C -- yes --> X[delete in dependency order] --> V[sweep again: nothing left]
```
"""),
    ("md", PARAMS_INTRO),
    ("params", PARAMS + 'confirm_teardown: bool = False            # true deletes; false only lists (a dry run)\n'),
    ("md", SETUP_INTRO),
    ("code", setup("99_teardown", "from eventdeploy.architecture import teardown")),
    ("md", r"""
## Step 1 · Inventory

Everything found, where it was found, in the order it will be deleted.
"""),
    ("code", r"""
inventory = teardown.inventory(p)
inventory[["kind", "name", "found_by"]]
"""),
    ("md", r"""
## Step 2 · Delete (or list)

With `confirm_teardown: false` (the default for AWS) nothing is deleted; each row says *would delete*.
"""),
    ("code", r"""
outcome = teardown.teardown(p, confirm=rb.params.confirm_teardown)
outcome[["kind", "name", "outcome"]]
"""),
    ("md", r"""
## Step 3 · What is left
"""),
    ("code", r"""
left = teardown.remaining(p)
left
"""),
    ("md", r"""
## Verify

After a confirmed teardown nothing tagged or named for this prefix remains and nothing failed; after a dry run
nothing was deleted.
"""),
    ("code", r"""
assert not outcome["outcome"].str.startswith("failed").any(), outcome[outcome["outcome"].str.startswith("failed")]
assert left.empty or not rb.params.confirm_teardown, left
assert rb.params.confirm_teardown or (outcome["outcome"] == "would delete").all()
"""),
    ("md", r"""
## Record the results
"""),
    ("code", r"""
rb.record("confirmed", rb.params.confirm_teardown)
rb.record("outcome", outcome[["kind", "name", "outcome"]])
rb.record("deleted", int((outcome["outcome"] == "deleted").sum()))
rb.record("remaining", left)
"""),
]
