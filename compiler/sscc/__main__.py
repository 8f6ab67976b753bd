from .fastrun import main

main()
