from .fastrun import main

# `python -m sscc` speaks as `sscc` (click would say "python -m sscc"), like the runtime commands.
main(prog_name="sscc")
