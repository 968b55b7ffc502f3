"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 01:59:13.970079
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('appliances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('graph', sa.String(length=64), nullable=False),
    sa.Column('node', sa.String(length=64), nullable=False),
    sa.Column('os', sa.String(length=16), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appliances')),
    sa.UniqueConstraint('name', name=op.f('uq_appliances_name'))
    )
    op.create_table('bootactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('kernel', sa.String(length=256), nullable=False),
    sa.Column('ramdisk', sa.String(length=256), nullable=False),
    sa.Column('args', sa.String(length=1024), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bootactions')),
    sa.UniqueConstraint('action', name=op.f('uq_bootactions_action'))
    )
    op.create_table('changes',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_changes'))
    )
    op.create_table('distributions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('os_release', sa.String(length=32), nullable=False),
    sa.Column('lang', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distributions')),
    sa.UniqueConstraint('name', name=op.f('uq_distributions_name'))
    )
    op.create_table('global_attributes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attr', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_global_attributes')),
    sa.UniqueConstraint('attr', name=op.f('uq_global_attributes_attr'))
    )
    op.create_table('os_attributes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('os', sa.String(length=16), nullable=False),
    sa.Column('attr', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_os_attributes')),
    sa.UniqueConstraint('os', 'attr', name=op.f('uq_os_attributes_os_attr'))
    )
    op.create_table('subnets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=32), nullable=False),
    sa.Column('netmask', sa.String(length=32), nullable=False),
    sa.Column('mtu', sa.Integer(), nullable=False),
    sa.Column('dnszone', sa.String(length=64), nullable=False),
    sa.Column('servedns', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subnets')),
    sa.UniqueConstraint('dnszone', name=op.f('uq_subnets_dnszone')),
    sa.UniqueConstraint('name', name=op.f('uq_subnets_name'))
    )
    op.create_table('appliance_attributes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appliance_id', sa.Integer(), nullable=False),
    sa.Column('attr', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['appliance_id'], ['appliances.id'], name=op.f('fk_appliance_attributes_appliance_id_appliances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appliance_attributes')),
    sa.UniqueConstraint('appliance_id', 'attr', name=op.f('uq_appliance_attributes_appliance_id_attr'))
    )
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('appliance_id', sa.Integer(), nullable=False),
    sa.Column('distribution_id', sa.Integer(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appliance_id'], ['appliances.id'], name=op.f('fk_memberships_appliance_id_appliances')),
    sa.ForeignKeyConstraint(['distribution_id'], ['distributions.id'], name=op.f('fk_memberships_distribution_id_distributions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('name', name=op.f('uq_memberships_name'))
    )
    op.create_table('hosts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('cpus', sa.Integer(), nullable=False),
    sa.Column('rack', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('arch', sa.String(length=32), nullable=False),
    sa.Column('os', sa.String(length=16), nullable=False),
    sa.Column('run_action', sa.String(length=64), nullable=False),
    sa.Column('install_action', sa.String(length=64), nullable=False),
    sa.Column('comment', sa.String(length=140), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_hosts_membership_id_memberships')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hosts')),
    sa.UniqueConstraint('name', name=op.f('uq_hosts_name'))
    )
    op.create_table('boot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_boot_host_id_hosts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_boot')),
    sa.UniqueConstraint('host_id', name=op.f('uq_boot_host_id'))
    )
    op.create_table('host_attributes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('attr', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_host_attributes_host_id_hosts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_host_attributes')),
    sa.UniqueConstraint('host_id', 'attr', name=op.f('uq_host_attributes_host_id_attr'))
    )
    with op.batch_alter_table('host_attributes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_host_attributes_host_id'), ['host_id'], unique=False)

    op.create_table('install_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('expires_at', sa.Double(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_install_tokens_host_id_hosts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_install_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_install_tokens_token_hash'))
    )
    with op.batch_alter_table('install_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_install_tokens_host_id'), ['host_id'], unique=False)

    op.create_table('interfaces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('device', sa.String(length=32), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('subnet_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=128), nullable=True),
    sa.Column('vlan', sa.Integer(), nullable=True),
    sa.Column('module', sa.String(length=128), nullable=True),
    sa.Column('options', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_interfaces_host_id_hosts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subnet_id'], ['subnets.id'], name=op.f('fk_interfaces_subnet_id_subnets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interfaces')),
    sa.UniqueConstraint('host_id', 'device', name=op.f('uq_interfaces_host_id_device')),
    sa.UniqueConstraint('mac', name=op.f('uq_interfaces_mac')),
    sa.UniqueConstraint('subnet_id', 'ip', name=op.f('uq_interfaces_subnet_id_ip'))
    )
    with op.batch_alter_table('interfaces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interfaces_host_id'), ['host_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interfaces_ip'), ['ip'], unique=False)

    op.create_table('partitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('device', sa.String(length=128), nullable=False),
    sa.Column('mountpoint', sa.String(length=128), nullable=False),
    sa.Column('start', sa.String(length=128), nullable=False),
    sa.Column('size', sa.String(length=128), nullable=False),
    sa.Column('size_mb', sa.Integer(), nullable=False),
    sa.Column('partition_id', sa.String(length=128), nullable=False),
    sa.Column('fstype', sa.String(length=128), nullable=False),
    sa.Column('flags', sa.String(length=128), nullable=False),
    sa.Column('format_flags', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_partitions_host_id_hosts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partitions')),
    sa.UniqueConstraint('host_id', 'device', name=op.f('uq_partitions_host_id_device'))
    )
    with op.batch_alter_table('partitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partitions_host_id'), ['host_id'], unique=False)

    op.create_table('vm_nodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('phys_host_id', sa.Integer(), nullable=False),
    sa.Column('mem', sa.Integer(), nullable=False),
    sa.Column('slice', sa.Integer(), nullable=False),
    sa.Column('virt_type', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_vm_nodes_host_id_hosts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['phys_host_id'], ['hosts.id'], name=op.f('fk_vm_nodes_phys_host_id_hosts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vm_nodes')),
    sa.UniqueConstraint('host_id', name=op.f('uq_vm_nodes_host_id')),
    sa.UniqueConstraint('phys_host_id', 'slice', name=op.f('uq_vm_nodes_phys_host_id_slice'))
    )
    with op.batch_alter_table('vm_nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vm_nodes_phys_host_id'), ['phys_host_id'], unique=False)

    op.create_table('vm_disks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vm_node_id', sa.Integer(), nullable=False),
    sa.Column('vbd_type', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=512), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('device', sa.String(length=512), nullable=False),
    sa.Column('mode', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['vm_node_id'], ['vm_nodes.id'], name=op.f('fk_vm_disks_vm_node_id_vm_nodes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vm_disks'))
    )
    with op.batch_alter_table('vm_disks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vm_disks_vm_node_id'), ['vm_node_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('vm_disks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vm_disks_vm_node_id'))

    op.drop_table('vm_disks')
    with op.batch_alter_table('vm_nodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vm_nodes_phys_host_id'))

    op.drop_table('vm_nodes')
    with op.batch_alter_table('partitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partitions_host_id'))

    op.drop_table('partitions')
    with op.batch_alter_table('interfaces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interfaces_ip'))
        batch_op.drop_index(batch_op.f('ix_interfaces_host_id'))

    op.drop_table('interfaces')
    with op.batch_alter_table('install_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_install_tokens_host_id'))

    op.drop_table('install_tokens')
    with op.batch_alter_table('host_attributes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_host_attributes_host_id'))

    op.drop_table('host_attributes')
    op.drop_table('boot')
    op.drop_table('hosts')
    op.drop_table('memberships')
    op.drop_table('appliance_attributes')
    op.drop_table('subnets')
    op.drop_table('os_attributes')
    op.drop_table('global_attributes')
    op.drop_table('distributions')
    op.drop_table('changes')
    op.drop_table('bootactions')
    op.drop_table('appliances')
