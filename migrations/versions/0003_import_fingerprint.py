"""import fingerprint and search text

Revision ID: 0003_import_fingerprint
Revises: 0002_catalog_bookings
Create Date: 2026-11-27 03:26:45.346828

customers.import_fingerprint: nullable, unique; set by the importer (and by an API bulk
request with an Idempotency-Key) so that a re-run cannot create a row twice.
customers.search_text: the folded name, email, phone and code the list's search matches;
existing rows are filled in here with the same folding as the model's fold_for_search
(copied, not imported: a migration must not depend on application code that changes later).
"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_import_fingerprint'
down_revision = '0002_catalog_bookings'
branch_labels = None
depends_on = None

SEPARATOR = "\x1f"


def _fold(text):
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _search_text(row):
    full_name = f"{row.first_name or ''} {row.last_name or ''}".strip()
    fields = (full_name, row.email, row.phone, row.customer_code)
    return SEPARATOR.join(_fold(value) for value in fields if value)


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_fingerprint', sa.String(length=64), nullable=True))
        # The server default fills the existing rows; the backfill below gives their real value.
        batch_op.add_column(
            sa.Column('search_text', sa.Text(), nullable=False, server_default='')
        )
        batch_op.create_unique_constraint(batch_op.f('uq_customers_import_fingerprint'), ['import_fingerprint'])

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
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            customers.c.id,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.email,
            customers.c.phone,
            customers.c.customer_code,
        )
    ).fetchall()
    for row in rows:
        conn.execute(
            customers.update()
            .where(customers.c.id == row.id)
            .values(search_text=_search_text(row))
        )


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_customers_import_fingerprint'), type_='unique')
        batch_op.drop_column('search_text')
        batch_op.drop_column('import_fingerprint')
