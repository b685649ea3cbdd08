from puljemonitor.cli import main

main()
