from tokenfall.cli import main

main()
