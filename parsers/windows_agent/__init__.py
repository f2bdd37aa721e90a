"""Windows agent logs: ``WaAppAgent.log`` and the other guest-agent logs, and the IaaSBcdr (VMSnapshot)
extension's logs."""
