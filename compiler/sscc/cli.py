"""Command line (placeholder until the driver lands)."""
import click


@click.group()
def main():
    """sscc: compile SDF pipelines."""
