"""Reference data from ``resources/`` kept in the database (基础数据同步): the subsidy catalog.

``sync_subsidy_catalog`` makes the ``subsidy_categories``/``subsidy_items`` tables equal to
``counter_app.domain.subsidies.load_subsidy_catalog()`` (insert or update by code; never deletes,
since payments refer to items). ``counter-central migrate`` and ``serve`` run it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from central.models import SubsidyCategoryRow, SubsidyItemRow
from counter_app.domain.subsidies import load_subsidy_catalog


def sync_subsidy_catalog(session: Session) -> int:
    """Upsert the 39 categories and 65 leaves; returns the number of leaves."""
    catalog = load_subsidy_catalog()
    for category in catalog:
        session.merge(
            SubsidyCategoryRow(
                number=category.number,
                name=category.name.value,
                household=category.household.value,
                department=category.department.value if category.department else None,
                placeholder=category.is_placeholder,
            )
        )
    session.flush()
    for leaf in catalog.leaves:
        session.merge(
            SubsidyItemRow(
                code=leaf.code,
                category_number=leaf.category_number,
                name=leaf.name.value,
                full_name=catalog.full_name(leaf),
                household=leaf.household.value,
                whole_category=leaf.is_whole_category,
                placeholder=leaf.is_placeholder,
            )
        )
    return catalog.leaf_count
