"""search text refold

Revision ID: 0004_search_text_refold
Revises: 0003_import_fingerprint
Create Date: 2026-11-27 04:05:00.000000

The search folding now also maps the Latin letters NFKD leaves whole (ø, ł, đ, ð, þ, æ, œ, ı,
ħ, ŧ), so "soren" finds "Søren". customers.search_text is stored, so every row is recomputed
here, in batches (keyset by id: a large table is never read into memory at once). The
folding is copied, frozen, from the model's fold_for_search as of this revision (not
imported: a migration must not depend on application code that changes later); downgrade
recomputes with 0003's folding.
"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_search_text_refold'
down_revision = '0003_import_fingerprint'
branch_labels = None
depends_on = None

SEPARATOR = "\x1f"
BATCH_SIZE = 500
TRANSLITERATION = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
    }
)


def _fold_0004(text):
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.translate(TRANSLITERATION).casefold()


def _fold_0003(text):
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _recompute(fold):
    customers = sa.table(
        'customers',
        sa.column('id', sa.BigInteger()),
        sa.column('first_name', sa.String()),
        sa.column('last_name', sa.String()),
        sa.column('email', sa.String()),
        sa.column('phone', sa.String()),
        sa.column('customer_code', sa.String()),
        sa.column('search_text', sa.Text()),
    )
    update = (
        customers.update()
        .where(customers.c.id == sa.bindparam('row_id'))
        .values(search_text=sa.bindparam('new_text'))
    )
    conn = op.get_bind()
    last_id = None
    while True:
        query = sa.select(
            customers.c.id,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.email,
            customers.c.phone,
            customers.c.customer_code,
            customers.c.search_text,
        ).order_by(customers.c.id).limit(BATCH_SIZE)
        if last_id is not None:
            query = query.where(customers.c.id > last_id)
        rows = conn.execute(query).fetchall()
        if not rows:
            return
        last_id = rows[-1].id
        changed = []
        for row in rows:
            full_name = f"{row.first_name or ''} {row.last_name or ''}".strip()
            fields = (full_name, row.email, row.phone, row.customer_code)
            text = SEPARATOR.join(fold(value) for value in fields if value)
            if text != row.search_text:
                changed.append({'row_id': row.id, 'new_text': text})
        if changed:
            conn.execute(update, changed)


def upgrade():
    _recompute(_fold_0004)


def downgrade():
    _recompute(_fold_0003)
