from agentcal.cli.main import main

main()
