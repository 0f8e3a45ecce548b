"""schema guards: email length, no search_text server default

Revision ID: 0005_schema_guards
Revises: 0004_search_text_refold
Create Date: 2026-11-28 09:00:00.000000

Two differences between the models and the migrated schema, found by comparing them
(tests/test_schema_drift.py):

- customers.email becomes VARCHAR(100), the email rule's EMAIL_MAX_LENGTH (it was 255, so the
  column promised room the rules never let anyone use). 100 is restated here, not imported: a
  migration must not depend on application code that changes later. An address longer than
  that cannot have come through the rules; if one is stored anyway, the upgrade stops and
  says so rather than truncating it (PostgreSQL would refuse the change; SQLite, which does
  not enforce lengths, would silently keep it). On PostgreSQL, shortening a VARCHAR rewrites
  the table under an exclusive lock, which takes a moment on a large customers table.
- customers.search_text loses the server default '' that 0003 added only to fill the rows that
  existed then. The model fills the column on every write; a row written without it should be
  refused (NOT NULL), not stored unsearchable.

On SQLite, batch mode recreates the table; its named constraints and indexes are carried over.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_schema_guards'
down_revision = '0004_search_text_refold'
branch_labels = None
depends_on = None

EMAIL_MAX_LENGTH = 100


def upgrade():
    customers = sa.table('customers', sa.column('email', sa.String()))
    too_long = op.get_bind().execute(
        sa.select(sa.func.count())
        .select_from(customers)
        .where(sa.func.length(customers.c.email) > EMAIL_MAX_LENGTH)
    ).scalar_one()
    if too_long:
        raise RuntimeError(
            f'{too_long} customer email(s) are longer than {EMAIL_MAX_LENGTH} characters; '
            'shorten or clear them before upgrading (customers.email becomes '
            f'VARCHAR({EMAIL_MAX_LENGTH}))'
        )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.alter_column('email',
               existing_type=sa.String(length=255),
               type_=sa.String(length=EMAIL_MAX_LENGTH),
               existing_nullable=True)
        batch_op.alter_column('search_text',
               existing_type=sa.Text(),
               server_default=None,
               existing_nullable=False)


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.alter_column('search_text',
               existing_type=sa.Text(),
               server_default='',
               existing_nullable=False)
        batch_op.alter_column('email',
               existing_type=sa.String(length=EMAIL_MAX_LENGTH),
               type_=sa.String(length=255),
               existing_nullable=True)
