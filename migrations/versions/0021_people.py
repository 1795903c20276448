"""people: persons, households, residences, organisations, special populations, visits

The people archive (一标三实, issue 17): ``persons`` (encrypted name, ID number
and phone with keyed hashes; birth date and gender from the ID number),
``households``, ``residences`` (person <-> room, kind, from/to dates),
``organisations`` (by unified social credit code), the special-population tags
with their levels and visit cycles, ``visits``, and the residents'
self-declarations waiting for the grid worker. Rooms gain use, floor area,
rented and occupancy.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: the special populations seeded (configurable later): code, name, cycle days of levels 1..3
TAGS = [
    ("elderly_alone", "独居老人", (7, 15, 30)),
    ("severe_disability", "重度残疾人", (7, 15, 30)),
    ("left_behind_child", "留守儿童", (7, 15, 30)),
    ("low_income", "低保户", (15, 30, 90)),
    ("community_correction", "社区矫正人员", (7, 15, 30)),
    ("severe_mental_illness", "严重精神障碍患者", (7, 15, 30)),
    ("drug_rehabilitation", "社区戒毒康复人员", (7, 15, 30)),
]


def upgrade() -> None:
    op.create_table('special_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_special_tags')),
    sa.UniqueConstraint('code', name=op.f('uq_special_tags_code'))
    )
    op.create_table('special_tag_levels',
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('cycle_days', sa.Integer(), nullable=False),
    sa.CheckConstraint('cycle_days > 0', name=op.f('ck_special_tag_levels_cycle_days')),
    sa.ForeignKeyConstraint(['tag_id'], ['special_tags.id'], name=op.f('fk_special_tag_levels_tag_id_special_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tag_id', 'level', name=op.f('pk_special_tag_levels'))
    )
    op.create_table('households',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_households_room_id_rooms'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households')),
    sa.UniqueConstraint('code', name=op.f('uq_households_code'))
    )
    op.create_index(op.f('ix_households_room_id'), 'households', ['room_id'], unique=False)
    op.create_table('organisations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('contact_name', sa.Text(), nullable=True),
    sa.Column('contact_phone', sa.Text(), nullable=True),
    sa.Column('contact_phone_hash', sa.String(length=64), nullable=True),
    sa.Column('attributes', JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_organisations_building_id_buildings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_organisations_room_id_rooms'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_organisations_credit_code'))
    )
    op.create_index(op.f('ix_organisations_building_id'), 'organisations', ['building_id'], unique=False)
    op.create_table('persons',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('phone_hash', sa.String(length=64), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('registration_place', sa.String(length=6), nullable=False),
    sa.Column('registered_building_id', sa.Integer(), nullable=True),
    sa.Column('ethnicity', sa.String(length=32), nullable=True),
    sa.Column('household_id', sa.BigInteger(), nullable=True),
    sa.Column('relation', sa.String(length=32), nullable=True),
    sa.Column('attributes', JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("gender IN ('male', 'female')", name=op.f('ck_persons_gender')),
    sa.CheckConstraint("registration_place ~ '^[0-9]{6}$'", name=op.f('ck_persons_registration_place')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_persons_household_id_households'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registered_building_id'], ['buildings.id'], name=op.f('fk_persons_registered_building_id_buildings'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons')),
    sa.UniqueConstraint('id_number_hash', name=op.f('uq_persons_id_number_hash'))
    )
    op.create_index(op.f('ix_persons_household_id'), 'persons', ['household_id'], unique=False)
    op.create_index(op.f('ix_persons_phone_hash'), 'persons', ['phone_hash'], unique=False)
    op.create_index(op.f('ix_persons_registered_building_id'), 'persons', ['registered_building_id'], unique=False)
    op.create_table('person_tags',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_person_tags_person_id_persons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['special_tags.id'], name=op.f('fk_person_tags_tag_id_special_tags'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_tags'))
    )
    op.create_index(op.f('ix_person_tags_person_id'), 'person_tags', ['person_id'], unique=False)
    op.create_index('uq_person_tags_current', 'person_tags', ['person_id', 'tag_id'], unique=True, postgresql_where=sa.text('until IS NULL'))
    op.create_table('residence_declarations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('phone_hash', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_by', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('person_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("kind IN ('owner', 'tenant', 'resident', 'registered_only')", name=op.f('ck_residence_declarations_kind')),
    sa.CheckConstraint("status IN ('pending', 'verified', 'rejected')", name=op.f('ck_residence_declarations_status')),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_residence_declarations_building_id_buildings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_residence_declarations_person_id_persons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_residence_declarations_room_id_rooms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residence_declarations'))
    )
    op.create_index(op.f('ix_residence_declarations_building_id'), 'residence_declarations', ['building_id'], unique=False)
    op.create_table('residences',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=False),
    sa.Column('to_date', sa.Date(), nullable=True),
    sa.CheckConstraint("kind IN ('owner', 'tenant', 'resident', 'registered_only')", name=op.f('ck_residences_kind')),
    sa.CheckConstraint('to_date IS NULL OR to_date >= from_date', name=op.f('ck_residences_dates')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_residences_person_id_persons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_residences_room_id_rooms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residences'))
    )
    op.create_index('ix_residences_current', 'residences', ['room_id'], unique=False, postgresql_where=sa.text('to_date IS NULL'))
    op.create_index(op.f('ix_residences_person_id'), 'residences', ['person_id'], unique=False)
    op.create_table('visits',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=True),
    sa.Column('worker_name', sa.Text(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('photos', JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_visits_event_id_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_visits_person_id_persons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name=op.f('fk_visits_worker_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    op.create_index('ix_visits_person_at', 'visits', ['person_id', 'visited_at'], unique=False)
    op.create_index(op.f('ix_visits_worker_id'), 'visits', ['worker_id'], unique=False)
    op.create_geospatial_index('idx_visits_geom', 'visits', ['geom'], unique=False,
                               postgresql_using='gist', postgresql_ops={})
    op.add_column('rooms', sa.Column('use', sa.String(length=32), nullable=True))
    op.add_column('rooms', sa.Column('area_m2', sa.Float(), nullable=True))
    op.add_column('rooms', sa.Column('rented', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('rooms', sa.Column('occupancy', sa.String(length=16), nullable=True))

    tags = sa.table("special_tags", sa.column("code", sa.String), sa.column("name", sa.Text))
    op.bulk_insert(tags, [{"code": c, "name": n} for c, n, _ in TAGS])
    for code, _, days in TAGS:
        op.execute(sa.text(
            "INSERT INTO special_tag_levels (tag_id, level, cycle_days) "
            "SELECT id, lv, d FROM special_tags, unnest(CAST(:days AS int[])) "
            "WITH ORDINALITY AS x(d, lv) WHERE code = :code").bindparams(
                code=code, days=list(days)))

def downgrade() -> None:
    op.drop_column('rooms', 'occupancy')
    op.drop_column('rooms', 'rented')
    op.drop_column('rooms', 'area_m2')
    op.drop_column('rooms', 'use')
    op.drop_index(op.f('ix_visits_worker_id'), table_name='visits')
    op.drop_index('ix_visits_person_at', table_name='visits')
    op.drop_geospatial_index('idx_visits_geom', table_name='visits', column_name='geom')
    op.drop_table('visits')
    op.drop_index(op.f('ix_residences_person_id'), table_name='residences')
    op.drop_index('ix_residences_current', table_name='residences', postgresql_where=sa.text('to_date IS NULL'))
    op.drop_table('residences')
    op.drop_index(op.f('ix_residence_declarations_building_id'), table_name='residence_declarations')
    op.drop_table('residence_declarations')
    op.drop_index('uq_person_tags_current', table_name='person_tags', postgresql_where=sa.text('until IS NULL'))
    op.drop_index(op.f('ix_person_tags_person_id'), table_name='person_tags')
    op.drop_table('person_tags')
    op.drop_index(op.f('ix_persons_registered_building_id'), table_name='persons')
    op.drop_index(op.f('ix_persons_phone_hash'), table_name='persons')
    op.drop_index(op.f('ix_persons_household_id'), table_name='persons')
    op.drop_table('persons')
    op.drop_index(op.f('ix_organisations_building_id'), table_name='organisations')
    op.drop_table('organisations')
    op.drop_index(op.f('ix_households_room_id'), table_name='households')
    op.drop_table('households')
    op.drop_table('special_tag_levels')
    op.drop_table('special_tags')
