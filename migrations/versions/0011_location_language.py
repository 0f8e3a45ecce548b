"""locations.language: the language a location's pages fall back to (SPEC section 11)

Revision ID: 0011_location_language
Revises: 0010_webhooks
Create Date: 2026-12-02 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_location_language'
down_revision = '0010_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('locations') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('locations') as batch:
        batch.drop_column('language')
